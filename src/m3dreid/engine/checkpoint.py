"""The training state of a run (``last.pt`` and the ``last.prev.pt`` before it): written atomically, read safely.

Weight files as such (safe reads, the fit check, atomic saves) are :mod:`m3dreid.weights`'; this module only adds the
rotation and the completeness check of a full training state that ``--resume`` needs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from m3dreid.weights import CheckpointError, atomic_save, load_file

__all__ = ["CheckpointError", "LAST_NAME", "PREV_NAME", "save_training_state", "load_training_state"]

LAST_NAME = "last.pt"  # the newest full training state of a run
PREV_NAME = "last.prev.pt"  # the one before it, kept so that a damaged last.pt never loses the run
_STATE_KEYS = ("model", "optimizer", "scheduler", "epoch", "global_step", "rng", "config")


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
