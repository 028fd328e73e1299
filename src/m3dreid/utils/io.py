"""Atomic file writes: checkpoints, feature files and run results must never be left half-written by a crash.

The data go to a temp file in the target's folder (same file system, so the rename is atomic), are flushed and
fsync'ed, and only then renamed over the target; on any failure the temp file is removed and the target is untouched.
A full disk is a :class:`m3dreid.errors.DiskFullError` ("no space left on DEVICE while writing FILE; FILE is kept").
Temp files are named ``.NAME.*.tmp``; :func:`remove_stale_temp_files` deletes those a killed process left behind.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from m3dreid.errors import disk_full_error

__all__ = ["atomic_write", "atomic_write_text", "remove_stale_temp_files", "temp_files"]

log = logging.getLogger(__name__)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(handle)`` on a binary temp file next to ``path``, fsync, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        full = _is_disk_full(err, path.parent)  # before the temp file is removed and frees its space
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if full:
            kept = f"{path} is unchanged" if path.exists() else "nothing was written"
            raise disk_full_error(path, kept=kept) from err
        raise
    return path


def _is_disk_full(err: BaseException, folder: Path) -> bool:
    # torch.save reports a full disk as a RuntimeError of its zip writer ("unexpected pos ..."), with or without the
    # OSError as its cause: check the chain, then, for a failed write, the space left.
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    if not isinstance(err, RuntimeError | OSError):
        return False
    try:
        stat = os.statvfs(folder)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < 1 << 20  # under 1 MiB left


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of ``text`` encoded as UTF-8."""
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def temp_files(folder: str | Path) -> list[Path]:
    """The temp files of :func:`atomic_write` in ``folder`` (left behind only by a killed process)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(".*.tmp") if p.is_file())


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temp files a killed writer left in ``folder``; returns what was removed (and logs it)."""
    removed = []
    for path in temp_files(folder):
        path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.info("removed %d stale temp file(s) in %s: %s", len(removed), folder, ", ".join(p.name for p in removed))
    return removed
