"""The one rule for a ``device`` argument, used by training, extraction, evaluation and the Python API.

``"auto"`` (or None) means: the device of ``like`` when a tensor is given (distances are computed where the features
already are), otherwise CUDA when there is one, else the CPU. A named device is taken as given, but naming CUDA on a
machine without it is an error rather than a crash deep inside the first layer.
"""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device | None = "auto", like: object = None) -> torch.device:
    if device is None or device == "auto":
        if isinstance(like, torch.Tensor):
            return like.device
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {str(device)!r} asked for, but CUDA is not available")
    return resolved
