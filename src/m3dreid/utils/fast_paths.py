"""Which speed paths (bf16 autocast, channels_last, torch.compile) a run uses on its device, decided in one place.

``train.amp``, ``train.channels_last`` and ``train.compile`` ask for the paths; by default they only apply on CUDA,
where they pay off (a CPU run with the defaults stays fp32, contiguous and eager, so CPU results do not change).
``train.fast_paths_on_cpu: true`` honours them on a CPU too: bf16 autocast (``torch.autocast("cpu")``), channels_last
weights and inductor's C++ backend all work there. The CPU tests use it to run the device-independent part of every
fast path before a GPU ever sees them.

The trainer and every extraction call site (``m3dreid extract``/``evaluate``, periodic evaluation) read the same
:func:`fast_paths`, so a switch means the same thing in training and at test time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["FastPaths", "fast_paths", "to_channels_last"]


@dataclass(frozen=True)
class FastPaths:
    amp: bool  # bf16 autocast around the forward pass
    channels_last: bool  # NHWC weights (NDHWC for Conv3d), so convolutions run channels_last
    compile: bool  # torch.compile (inductor)

    def extract_kwargs(self) -> dict[str, bool]:
        """The keywords of :func:`m3dreid.evaluation.extract.extract_features` for these paths."""
        return {"amp": self.amp, "channels_last": self.channels_last, "compile": self.compile}


def fast_paths(train_cfg, device: torch.device | str) -> FastPaths:
    """The paths ``train_cfg`` asks for that apply on ``device`` (all of them on CUDA; on other devices only with
    ``train_cfg.fast_paths_on_cpu``)."""
    device = torch.device(device)
    honoured = device.type == "cuda" or bool(getattr(train_cfg, "fast_paths_on_cpu", False))
    return FastPaths(
        amp=bool(train_cfg.amp) and honoured,
        channels_last=bool(train_cfg.channels_last) and honoured,
        compile=bool(train_cfg.compile) and honoured,
    )


def to_channels_last(model: nn.Module) -> nn.Module:
    """channels_last for 4D and channels_last_3d for 5D parameters, in place (``Module.to`` only knows 4D)."""
    for param in model.parameters():
        if param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)
        elif param.dim() == 5:
            param.data = param.data.contiguous(memory_format=torch.channels_last_3d)
    return model
