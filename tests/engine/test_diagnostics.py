"""Temporal-weight diagnostics: off-centre tap norms of the M3D layers and the near-zero warning."""

from __future__ import annotations

import logging

import pytest
import torch

from m3dreid.engine.diagnostics import check_temporal_weights, temporal_norms
from m3dreid.layers import GlobalM3D, LocalM3D
from m3dreid.models import create_model


def test_fresh_m3d_warns_trained_one_does_not_2d_has_none(caplog):
    torch.manual_seed(0)
    m3d = create_model("m3d_resnet18", num_classes=4, base_channels=8, embed_dim=16)
    norms = temporal_norms(m3d)
    assert norms["local_m3d_rms"] == 0.0 and norms["global_m3d_rms"] == 0.0 and norms["conv2d_rms"] > 0.01
    with caplog.at_level(logging.WARNING, logger="m3dreid.engine.diagnostics"):
        warnings = check_temporal_weights(m3d)
    assert len(warnings) == 2 and "local M3D" in warnings[0] and "global M3D" in warnings[1]
    assert len(caplog.records) == 2
    for module in m3d.modules():
        if isinstance(module, LocalM3D | GlobalM3D):
            module.weight.data.normal_(0, 1.0)
    assert check_temporal_weights(m3d) == []
    two_d = create_model("resnet18_2d", num_classes=4, base_channels=8, embed_dim=16)
    assert temporal_norms(two_d)["local_m3d_rms"] is None and check_temporal_weights(two_d) == []


def test_only_off_centre_taps_count():
    layer = LocalM3D(4, 2)
    layer.weight.data[..., 1] = 3.0  # centre taps read frame t itself: not temporal
    assert temporal_norms(layer)["local_m3d_rms"] == 0.0
    layer.weight.data[0, :, :, 0] = 2.0  # one of 4 off-centre tap planes at 2 -> RMS sqrt(4 / 4) = 1
    assert temporal_norms(layer)["local_m3d_rms"] == pytest.approx(1.0)
