"""Is a temporal model using time? Weight norms of its temporal taps, logged in training and checked at the end.

The M3D layers (``LocalM3D``, ``GlobalM3D``) start at zero, so a fresh M3D network computes its 2D network; only
the *off-centre* taps (reading frames ``t - r`` and ``t + r``) see other frames: the centre tap of every branch
reads frame ``t`` itself, a per-frame linear map. ``temporal_norms`` gives the root-mean-square of the off-centre
taps of each layer kind, and of the model's 2D convolution weights as the scale they are compared with.
``check_temporal_weights`` warns when a model with temporal layers ends training with those taps still near zero
(below ``ratio`` x the 2D weights' RMS): its features are then (nearly) those of the 2D network.
"""

from __future__ import annotations

import logging
import math

import torch
from torch import nn

__all__ = ["NORM_COLUMNS", "temporal_norms", "check_temporal_weights", "NEAR_ZERO_RATIO"]

log = logging.getLogger(__name__)

NORM_COLUMNS = ("local_m3d_rms", "global_m3d_rms", "conv2d_rms")
NEAR_ZERO_RATIO = 0.01


def _rms(tensors: list[torch.Tensor]) -> float | None:
    if not tensors:
        return None
    total = sum(float(t.detach().float().pow(2).sum()) for t in tensors)
    count = sum(t.numel() for t in tensors)
    return math.sqrt(total / max(count, 1))


@torch.no_grad()
def temporal_norms(model: nn.Module) -> dict[str, float | None]:
    """RMS of the off-centre taps of the local / global M3D layers (None where the model has none) and of Conv2d."""
    from m3dreid.layers import GlobalM3D, LocalM3D

    local, global_, conv = [], [], []
    for module in model.modules():
        if isinstance(module, LocalM3D | GlobalM3D) and module.weight.numel():
            taps = module.weight[..., [0, 2]]  # (n, C_out, C_in, 2): frames t - r and t + r
            (local if isinstance(module, LocalM3D) else global_).append(taps)
        elif isinstance(module, nn.Conv2d):
            conv.append(module.weight)
    return {"local_m3d_rms": _rms(local), "global_m3d_rms": _rms(global_), "conv2d_rms": _rms(conv)}


def check_temporal_weights(model: nn.Module, *, ratio: float = NEAR_ZERO_RATIO) -> list[str]:
    """Warnings (also logged) for each temporal layer kind whose off-centre taps stayed below ``ratio`` x conv RMS."""
    norms = temporal_norms(model)
    scale = norms["conv2d_rms"] or 1.0
    warnings = []
    for key, name in (("local_m3d_rms", "local M3D"), ("global_m3d_rms", "global M3D")):
        value = norms[key]
        if value is not None and value < ratio * scale:
            message = (f"{name} layers' temporal taps stayed near zero after training (RMS {value:.2e}, "
                       f"{value / scale:.2%} of the 2D convolutions' {scale:.2e}): the model is computing its 2D "
                       "network and learnt nothing from frame order")  # fmt: skip
            log.warning("%s", message)
            warnings.append(message)
    return warnings
