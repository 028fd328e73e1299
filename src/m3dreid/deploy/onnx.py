"""ONNX export of a video ReID model with a dynamic batch size and a dynamic number of frames, and a parity check.

The exported graph takes ``clip (B, T, C, H, W)`` float32 (normalised as in training) and returns ``features (B, D)``,
the retrieval embedding of the model in eval mode. ``H`` and ``W`` are fixed at export (the training frame size);
``B`` and ``T`` are free, so one file embeds tracklets of any length. Dilated temporal convolutions, temporal
pooling and the global M3D layer must therefore not bake ``T`` into the graph (the temporal layers switch to an
out-of-place form while being exported, see :func:`m3dreid.layers.temporal_shift_sum`); :func:`check_onnx_parity`
runs the file with onnxruntime at several ``T`` the export never saw and compares with PyTorch.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["OnnxParity", "export_onnx", "check_onnx_parity"]

log = logging.getLogger(__name__)

INPUT_NAME = "clip"
OUTPUT_NAME = "features"


class _Embedder(nn.Module):
    """Pins the exported computation to the eval-mode embedding, whatever the model's forward does in training."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, clip: torch.Tensor) -> torch.Tensor:  # (B, T, C, H, W) -> (B, D)
        return self.model.aggregate(self.model.frame_features(clip))


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    height: int,
    width: int,
    frames: int = 8,
    opset: int = 18,
    dynamo: bool = False,
) -> Path:
    """Write ``model`` (a ``VideoReIDModel``) to ``path`` with dynamic batch and frame axes.

    The example clip has batch 2 and ``frames`` frames: sizes of 1 are specialised by the tracer, so the example must
    avoid them for the axes that stay dynamic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    wrapper = _Embedder(model).eval()
    channels = int(getattr(model, "in_channels", 3))
    example = torch.randn(2, frames, channels, height, width)  # (B, T, C, H, W)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer warns about every Python int it sees
        if dynamo:
            batch = torch.export.Dim("batch", min=1, max=4096)
            time = torch.export.Dim("frames", min=1, max=100000)
            program = torch.onnx.export(
                wrapper,
                (example,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes={"clip": {0: batch, 1: time}},
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
            program.save(str(path))
        else:
            torch.onnx.export(
                wrapper,
                (example,),
                str(path),
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch", 1: "frames"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=opset,
                do_constant_folding=True,
            )
    log.info("exported %s -> %s (clip (B, T, %d, %d, %d))", type(model).__name__, path, channels, height, width)
    return path


@dataclass(frozen=True)
class OnnxParity:
    max_abs_diff: dict[int, float]  # frames T -> largest |onnx - torch| over the batch and features
    atol: float

    @property
    def ok(self) -> bool:
        return all(d <= self.atol for d in self.max_abs_diff.values())


def check_onnx_parity(
    model: nn.Module,
    path: str | Path,
    *,
    height: int,
    width: int,
    frames: Sequence[int] = (8, 16, 23),
    batch: int = 2,
    atol: float = 1e-4,
    seed: int = 0,
) -> OnnxParity:
    """Run the ONNX file with onnxruntime (CPU) and the PyTorch model on the same random clips for each ``T``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    model = model.eval()
    channels = int(getattr(model, "in_channels", 3))
    generator = torch.Generator().manual_seed(seed)
    diffs: dict[int, float] = {}
    for t in frames:
        clip = torch.randn(batch, t, channels, height, width, generator=generator)  # (B, T, C, H, W)
        with torch.no_grad():
            expected = model.aggregate(model.frame_features(clip)).numpy()  # (B, D)
        (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: clip.numpy()})
        if got.shape != expected.shape:
            raise RuntimeError(f"{path}: ONNX output {got.shape} != PyTorch {expected.shape} at T={t}")
        diffs[int(t)] = float(np.abs(got - expected).max())
    result = OnnxParity(max_abs_diff=diffs, atol=atol)
    log.info("%s: max |onnx - torch| by T: %s (atol %g)", path, diffs, atol)
    return result
