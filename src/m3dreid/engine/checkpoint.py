"""The training state of a run (``last.pt`` and the ``last.prev.pt`` before it): written atomically, read safely.

Weight files as such (safe reads, the fit check, atomic saves) are :mod:`m3dreid.weights`'; this module only adds the
rotation and the completeness check of a full training state that ``--resume`` needs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from m3dreid.errors import DiskFullError, disk_full_error
from m3dreid.weights import CheckpointError, atomic_save, load_file

__all__ = [
    "CheckpointError",
    "LAST_NAME",
    "PREV_NAME",
    "NEW_NAME",
    "find_resume_checkpoint",
    "save_training_state",
    "load_training_state",
]

log = logging.getLogger(__name__)

LAST_NAME = "last.pt"  # the newest full training state of a run
PREV_NAME = "last.prev.pt"  # the one before it, kept so that a damaged last.pt never loses the run
NEW_NAME = ".last.pt.new"  # a complete new state about to become last.pt (left only by a kill between two renames)
_STATE_KEYS = ("model", "optimizer", "scheduler", "epoch", "global_step", "rng", "config")


def save_training_state(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` as ``run_dir/last.pt``; the previous ``last.pt`` becomes ``last.prev.pt``.

    The new state is written completely as ``.last.pt.new`` (temp file, fsync, rename) before anything is rotated;
    ``last.pt`` is then hard-linked to ``last.prev.pt`` and replaced by the new file, so ``last.pt`` exists at every
    moment (where hard links are not supported it is renamed, and a kill in between leaves ``.last.pt.new``, which
    :func:`find_resume_checkpoint` prefers). A full disk raises :class:`DiskFullError` and keeps ``last.pt``.
    """
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"training state lacks {', '.join(missing)}")
    run_dir = Path(run_dir)
    last, prev = run_dir / LAST_NAME, run_dir / PREV_NAME
    try:
        new = atomic_save(state, run_dir / NEW_NAME)
    except DiskFullError:
        kept = f"the previous checkpoint {last} is kept" if last.exists() else "no checkpoint was written"
        raise disk_full_error(last, kept=kept) from None
    if last.exists():
        try:
            link = run_dir / f".{PREV_NAME}.link.tmp"
            link.unlink(missing_ok=True)
            os.link(last, link)
            os.replace(link, prev)
        except OSError:  # no hard links on this file system
            os.replace(last, prev)
    os.replace(new, last)
    return last


def find_resume_checkpoint(run_dir: str | Path) -> Path:
    """The newest complete training state of a run: ``.last.pt.new`` if a kill left one that loads, else ``last.pt``.

    ``last.prev.pt`` is never taken silently: a damaged ``last.pt`` is an error that names it (see
    :func:`load_training_state`).
    """
    run_dir = Path(run_dir)
    new, last = run_dir / NEW_NAME, run_dir / LAST_NAME
    if new.is_file():
        try:
            load_training_state(new)
            return new
        except CheckpointError as err:
            log.warning("ignoring %s: %s", new, err)
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
