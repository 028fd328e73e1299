"""The one family of user errors: wrong configs, data, files and arguments.

Every error that the user can fix by changing their input derives from :class:`UserError` (``ConfigError``,
``DatasetError``, ``CheckpointError``, ``MotFormatError``, ``VideoError``, :class:`OutputExistsError`,
:class:`DiskFullError`, :class:`IndexFormatError`). Its message is one line that names the file, key or row and
says what is wrong. The command line (``m3dreid.cli.main``) catches the family once: it prints the message, exits
with status 2 and shows the traceback only with ``-v``. Anything else is a programming error and keeps its
traceback.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

__all__ = [
    "UserError",
    "OutputExistsError",
    "DiskFullError",
    "IndexFormatError",
    "InputError",
    "MissingInputError",
    "prepare_output",
    "disk_full_error",
    "mount_point",
]


log = logging.getLogger(__name__)


class UserError(Exception):
    """Bad input from the user; the message names the file, key or row and what is wrong (the CLI exits 2)."""


class InputError(UserError, ValueError):
    """An input file, argument or value is wrong (the message names the file, row or argument)."""


class MissingInputError(UserError, FileNotFoundError):
    """An input file or folder the user named does not exist, or holds nothing usable."""


class OutputExistsError(UserError, FileExistsError):
    """A command would overwrite an existing output, or write onto one of its own inputs."""


class DiskFullError(UserError, OSError):
    """The file system ran out of space while writing; the previous version of the file is kept."""


class IndexFormatError(InputError):
    """A saved index or feature folder has the wrong shape, version or content; the message names the file."""


def _entries(folder: Path, limit: int = 3) -> str:
    names = sorted(p.name for p in folder.iterdir())
    shown = ", ".join(names[:limit]) + (f", ... ({len(names)} entries)" if len(names) > limit else "")
    return shown


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def prepare_output(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: tuple[str | os.PathLike | None, ...] | list = (),
    hint: str = "pass --overwrite to replace it",
    owned: tuple[str, ...] = (),
) -> Path:
    """Refuse to write ``path`` (a file or a folder) where that would destroy something; returns ``Path(path)``.

    - ``path`` is one of ``inputs``, or a folder that holds one of them: always refused (``--overwrite`` too), since
      writing the output would destroy the command's own input (``export RUN/last.pt --onnx RUN/last.pt``);
    - ``path`` is an existing non-empty file or folder: refused unless ``overwrite``; ``hint`` says which flag to use;
    - with ``overwrite``, the entries ``owned`` of a folder (the files and subfolders the command writes there) are
      removed first, so that no stale output of the previous run stays mixed with the new one; nothing else is.

    Every command that writes calls this before writing anything, so the checks and messages are the same everywhere.
    """
    out = Path(path)
    resolved = out.resolve()
    for given in inputs:
        if given is None or str(given) == "":
            continue
        source = Path(given).resolve()
        same = resolved == source or (out.exists() and source.exists() and os.path.samefile(out, source))
        if same or (out.is_dir() and _inside(source, resolved)):
            what = "is" if same else "holds"
            raise OutputExistsError(
                f"{out}: the output {what} this command's input {given}; write the output somewhere else"
            )
    if out.is_dir():
        if any(out.iterdir()) and not overwrite:
            raise OutputExistsError(f"{out}: folder exists and is not empty ({_entries(out)}); {hint}")
        for pattern in owned if overwrite else ():  # names or glob patterns, inside the folder only
            for entry in sorted(out.glob(pattern)):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                log.info("--overwrite: removed %s", entry)
    elif out.exists():
        if out.stat().st_size > 0 and not overwrite:
            raise OutputExistsError(f"{out}: file exists; {hint}")
    return out


def mount_point(path: str | os.PathLike) -> str:
    """The mount point of the file system holding ``path`` (or of its nearest existing parent)."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return str(current)


def disk_full_error(path: str | os.PathLike, *, kept: str = "") -> DiskFullError:
    """The one message for a full disk: the device (mount point), the file being written, what was kept."""
    tail = f"; {kept}" if kept else ""
    err = DiskFullError(f"no space left on {mount_point(path)} while writing {path}{tail}")
    err.errno = errno.ENOSPC
    return err
