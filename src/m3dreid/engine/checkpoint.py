"""Reading and writing weight files: atomic writes, safe reads with errors that name the file."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "atomic_save", "load_file", "extract_state_dict"]


class CheckpointError(RuntimeError):
    """A weight or checkpoint file is missing, truncated, not a torch file, or does not fit the model."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same folder, fsync, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_file(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with one clear error for every way the file can be bad."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: file is empty")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        msg = f"{path}: not a readable torch weights file (truncated or corrupt?): {first_line}"
        raise CheckpointError(msg) from None
    except Exception as err:  # the unpickler raises its own types for foreign or malicious content
        raise CheckpointError(f"{path}: refused to load ({type(err).__name__}: {str(err)[:200]})") from None


def extract_state_dict(obj: Any, path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict inside a loaded file: a bare one, or under 'model' / 'state_dict'."""
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: does not hold a state dict (a mapping of names to tensors)")
    # Weights saved from DataParallel / DDP carry a 'module.' prefix.
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj
