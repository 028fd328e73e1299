"""Reading and writing weight files: atomic writes, safe reads with errors that name the file."""

from __future__ import annotations

import os
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

import torch

from m3dreid.utils.io import atomic_write

__all__ = [
    "CheckpointError",
    "atomic_save",
    "load_file",
    "extract_state_dict",
    "LAST_NAME",
    "PREV_NAME",
    "save_training_state",
    "load_training_state",
    "load_model_weights",
]

LAST_NAME = "last.pt"  # the newest full training state of a run
PREV_NAME = "last.prev.pt"  # the one before it, kept so that a damaged last.pt never loses the run
_STATE_KEYS = ("model", "optimizer", "scheduler", "epoch", "global_step", "rng", "config")


class CheckpointError(RuntimeError):
    """A weight or checkpoint file is missing, truncated, not a torch file, or does not fit the model."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same folder, fsync, then rename: a crash never leaves half a file."""
    return atomic_write(path, partial(torch.save, obj))


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


def save_training_state(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` as ``run_dir/last.pt``; the previous ``last.pt`` becomes ``last.prev.pt``.

    The new file is written completely (temp file + rename) before the old one is rotated, so at every moment at
    least one whole checkpoint exists on disk.
    """
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"training state lacks {', '.join(missing)}")
    run_dir = Path(run_dir)
    last, prev = run_dir / LAST_NAME, run_dir / PREV_NAME
    tmp = atomic_save(state, run_dir / f".{LAST_NAME}.new")
    if last.exists():
        os.replace(last, prev)
    os.replace(tmp, last)
    return last


def load_training_state(path: str | Path) -> dict[str, Any]:
    """Read a full training state written by :func:`save_training_state`; errors name the file and what is wrong.

    A damaged ``last.pt`` is reported together with the intact ``last.prev.pt`` beside it (if any), so the user can
    resume from that one; nothing falls back silently.
    """
    path = Path(path)
    try:
        state = load_file(path)
    except CheckpointError as err:
        prev = path.with_name(PREV_NAME)
        if path.name == LAST_NAME and prev.is_file():
            raise CheckpointError(f"{err}; the previous checkpoint {prev} is intact: resume from it instead") from None
        raise
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a training checkpoint (a {type(state).__name__}, not a mapping)")
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a full training checkpoint, missing {', '.join(missing)}")
    return state


def load_model_weights(model: torch.nn.Module, path: str | Path, *, strict: bool = True) -> torch.nn.Module:
    """Load the model weights of a checkpoint (full training state or bare state dict) into ``model``."""
    state = extract_state_dict(load_file(path), path)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # mis-shaped tensors
        first = str(err).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{path}: does not fit the model: {first}") from None
    if strict and (result.missing_keys or result.unexpected_keys):
        missing = ", ".join(result.missing_keys[:10])
        unexpected = ", ".join(result.unexpected_keys[:10])
        raise CheckpointError(f"{path}: does not fit the model; missing keys [{missing}], unexpected [{unexpected}]")
    return model
