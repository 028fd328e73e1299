"""What every dataset reader returns: tracklets split into train / query / gallery, plus the protocol facts.

A reader turns a dataset folder in its original published layout into a :class:`VideoDataset`. Evaluation code needs
more than the tracklets: which gallery pids are junk (ignored in ranking, e.g. MARS pid -1), which AP definition the
official protocol uses, and how many queries have no valid match (those are skipped by the metrics, so the count must
be visible). All of that lives here so that every reader reports it the same way.

Camera ids are 0-based everywhere (MARS ``C1`` -> 0, PRID ``cam_a`` -> 0, iLIDS ``cam1`` -> 0); metrics only compare
them for equality.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from m3dreid.errors import UserError

__all__ = [
    "DatasetError",
    "Tracklet",
    "VideoDataset",
    "frame_number",
    "sort_frames",
    "list_dir",
    "relabel",
    "image_files",
    "require_paths",
]

log = logging.getLogger(__name__)

_DIGITS = re.compile(r"(\d+)")


class DatasetError(UserError, ValueError):
    """A dataset folder is missing files or holds inconsistent data; the message names the file."""


class Tracklet(NamedTuple):
    """One person seen by one camera: absolute frame paths sorted by frame number, a pid and a 0-based camera id."""

    frames: tuple[str, ...]
    pid: int
    camid: int


@dataclass(frozen=True)
class VideoDataset:
    """A dataset split into train / query / gallery tracklets.

    ``train`` pids are relabelled ``0..num_train_pids-1``; ``train_pids_original[label]`` gives the pid in the files.
    Query and gallery keep the dataset's own pids. ``junk_pids`` are gallery pids the protocol ignores (neither hit nor
    miss); ``ap_definition`` is ``"mars_kit"`` for the MARS MATLAB kit's AP, ``"standard"`` otherwise.
    """

    name: str
    train: list[Tracklet]
    query: list[Tracklet]
    gallery: list[Tracklet]
    train_pids_original: tuple[int, ...]
    junk_pids: frozenset[int] = frozenset()
    ap_definition: str = "standard"
    protocol: str = "standard"
    root: str = ""
    extra: dict = field(default_factory=dict)  # reader-specific facts (split index, distractor pid, ...)

    @property
    def num_train_pids(self) -> int:
        return len(self.train_pids_original)

    def queries_without_match(self) -> list[int]:
        """Indices of queries with no valid gallery match (same pid, other camera, pid not junk).

        The metrics skip these queries, so a protocol change that silently drops matches shows up here.
        """
        cams_by_pid: dict[int, set[int]] = {}
        for t in self.gallery:
            if t.pid not in self.junk_pids:
                cams_by_pid.setdefault(t.pid, set()).add(t.camid)
        return [i for i, q in enumerate(self.query) if not (cams_by_pid.get(q.pid, set()) - {q.camid})]

    def summary(self) -> str:
        def frames(ts: Sequence[Tracklet]) -> int:
            return sum(len(t.frames) for t in ts)

        return (
            f"{self.name} ({self.protocol}): train {self.num_train_pids} ids / {len(self.train)} tracklets / "
            f"{frames(self.train)} frames; query {len({t.pid for t in self.query})} ids / {len(self.query)} tracklets; "
            f"gallery {len({t.pid for t in self.gallery})} ids / {len(self.gallery)} tracklets"
        )


def frame_number(name: str) -> int:
    """The frame number of a file name: the last run of digits in its stem (``cam1_person001_00317.png`` -> 317)."""
    runs = _DIGITS.findall(Path(name).stem)
    if not runs:
        raise DatasetError(f"{name}: no frame number in the file name")
    return int(runs[-1])


def sort_frames(paths: Iterable[str], key=frame_number) -> tuple[str, ...]:
    """Frame paths sorted by parsed frame number (never by directory or string order: 'f10' comes after 'f9')."""
    decorated = sorted((key(os.path.basename(p)), p) for p in paths)
    for (a, pa), (b, pb) in zip(decorated, decorated[1:], strict=False):
        if a == b:
            raise DatasetError(f"{pb}: same frame number {b} as {pa}")
    return tuple(p for _, p in decorated)


def list_dir(directory: str) -> set[str]:
    """Names in a folder (one ``scandir``; readers check listed frames against it instead of one stat per frame)."""
    try:
        with os.scandir(directory) as it:
            return {entry.name for entry in it}
    except FileNotFoundError:
        return set()


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def image_files(folder: str | os.PathLike, key=frame_number) -> tuple[str, ...]:
    """Absolute paths of the images in ``folder`` sorted by frame number (dot-entries, e.g. a flow cache, skipped)."""
    folder = os.fspath(Path(folder).resolve())
    names = [n for n in list_dir(folder) if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)]
    return sort_frames((os.path.join(folder, n) for n in names), key=key)


def relabel(tracklets: Sequence[Tracklet]) -> tuple[list[Tracklet], tuple[int, ...]]:
    """Map train pids to ``0..N-1`` in sorted order; return the relabelled tracklets and the original pid per label."""
    original = tuple(sorted({t.pid for t in tracklets}))
    label = {pid: i for i, pid in enumerate(original)}
    return [t._replace(pid=label[t.pid]) for t in tracklets], original


def require_paths(dataset: str, root: Path, relative: Sequence[str]) -> None:
    """Raise one error listing every required path missing under ``root``."""
    missing = [r for r in relative if not (root / r).exists()]
    if missing:
        raise DatasetError(f"{dataset}: missing under {root}: " + ", ".join(missing))
