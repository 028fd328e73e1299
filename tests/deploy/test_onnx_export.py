"""ONNX export with dynamic batch and frames: onnxruntime agrees with PyTorch to 1e-4 for T in {8, 16, 23}."""

from __future__ import annotations

import logging

import onnx
import pytest
import torch
from deploy_helpers import HEIGHT, WIDTH, save_checkpoint

from m3dreid.cli import main
from m3dreid.deploy import check_onnx_parity, export_onnx, load_checkpoint_model

log = logging.getLogger(__name__)


@pytest.mark.parametrize("name", ["resnet50_2d", "two_stream_m3d_resnet50"])
def test_export_parity(tmp_path, name):
    model, _ = save_checkpoint(name, tmp_path / "ckpt.pt")
    path = export_onnx(model, tmp_path / "model.onnx", height=HEIGHT, width=WIDTH)
    graph = onnx.load(str(path)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "frames", model.in_channels, HEIGHT, WIDTH]
    parity = check_onnx_parity(model, path, height=HEIGHT, width=WIDTH, frames=(8, 16, 23))
    log.info("%s: max |onnx - torch| %s", name, parity.max_abs_diff)
    assert parity.ok and max(parity.max_abs_diff.values()) <= 1e-4


def test_export_command_m3d(tmp_path, capsys):
    model, ckpt = save_checkpoint("m3d_resnet50", tmp_path / "m3d.pt")
    assert model.temporal_radius > 0
    rebuilt, config = load_checkpoint_model(ckpt)
    clip = torch.randn(1, 5, 3, HEIGHT, WIDTH)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(clip), model(clip), rtol=0, atol=0)
    assert main(["export", str(ckpt), "--onnx", str(tmp_path / "m3d.onnx")]) == 0
    out = capsys.readouterr().out
    diffs = {int(line.split()[0][2:]): float(line.split("=")[-1]) for line in out.splitlines() if "max |onnx" in line}
    log.info("m3d_resnet50: max |onnx - torch| %s", diffs)
    assert sorted(diffs) == [8, 16, 23] and max(diffs.values()) <= 1e-4


def test_export_command_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", str(bad), "--onnx", str(tmp_path / "x.onnx")]) == 2
    assert "bad.pt" in capsys.readouterr().err
