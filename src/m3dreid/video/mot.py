"""MOTChallenge track / detection files: ``frame,id,x,y,w,h,conf,...`` (1-based frames, top-left boxes in pixels).

MOT15 files carry 10 columns (``...,conf,wx,wy,wz``), MOT16/17 gt files 9 (``...,conf,class,visibility``) and
``det.txt`` files use ``id = -1``. Only the first seven columns matter here; a missing ``conf`` reads as 1. Every bad
row is reported with the file and its 1-based line number, so a user can fix their detections by hand.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from m3dreid.errors import UserError

__all__ = ["MotFormatError", "MotTable", "read_mot", "write_mot"]

log = logging.getLogger(__name__)

_MIN_COLUMNS = 6  # frame, id, x, y, w, h


class MotFormatError(UserError, ValueError):
    """A MOT file cannot be read; the message names the file and the row."""


@dataclass(frozen=True)
class MotTable:
    """All rows of one MOT file as parallel arrays, sorted by (frame, id)."""

    frames: np.ndarray  # (N,) int64, 1-based frame numbers
    ids: np.ndarray  # (N,) int64, track ids (-1 in det.txt)
    boxes: np.ndarray  # (N, 4) float64, x, y, w, h
    scores: np.ndarray  # (N,) float64, the conf column

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def has_ids(self) -> bool:
        """True when every row carries a track id (a gt file or tracker output), False for raw detections."""
        return len(self) > 0 and bool((self.ids >= 0).all())

    def rows_by_frame(self) -> dict[int, np.ndarray]:
        """Frame number -> indices of its rows (frames without rows are absent)."""
        if len(self) == 0:
            return {}
        starts = np.flatnonzero(np.r_[True, self.frames[1:] != self.frames[:-1]])
        ends = np.r_[starts[1:], len(self)]
        return {int(self.frames[s]): np.arange(s, e) for s, e in zip(starts, ends, strict=True)}

    def track(self, track_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Frames (K,) and boxes (K, 4) of one track, in frame order."""
        keep = self.ids == track_id
        return self.frames[keep], self.boxes[keep]

    @staticmethod
    def from_rows(rows: list[tuple[int, int, float, float, float, float, float]]) -> MotTable:
        """Build from ``(frame, id, x, y, w, h, score)`` tuples (any order)."""
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 7)  # (N, 7)
        order = np.lexsort((arr[:, 1], arr[:, 0]))
        arr = arr[order]
        return MotTable(
            frames=arr[:, 0].astype(np.int64),
            ids=arr[:, 1].astype(np.int64),
            boxes=arr[:, 2:6].copy(),
            scores=arr[:, 6].copy(),
        )


def _parse_row(fields: list[str], path: Path, line_no: int) -> tuple[int, int, float, float, float, float, float]:
    where = f"{path}: row {line_no}"
    if len(fields) < _MIN_COLUMNS:
        raise MotFormatError(f"{where}: expected at least {_MIN_COLUMNS} comma-separated columns, got {len(fields)}")
    try:
        values = [float(f) for f in fields[:7]]
    except ValueError:
        raise MotFormatError(f"{where}: non-numeric value in {','.join(fields[:7])!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise MotFormatError(f"{where}: non-finite value in {','.join(fields[:7])!r}")
    frame, track_id, x, y, w, h = values[:6]
    score = values[6] if len(values) > 6 else 1.0
    if frame != int(frame) or frame < 1:
        raise MotFormatError(f"{where}: frame must be an integer >= 1, got {fields[0].strip()!r}")
    if track_id != int(track_id) or track_id < -1:
        raise MotFormatError(f"{where}: id must be an integer >= -1, got {fields[1].strip()!r}")
    if w <= 0 or h <= 0:
        raise MotFormatError(f"{where}: box width and height must be > 0, got w={w:g}, h={h:g}")
    return int(frame), int(track_id), x, y, w, h, score


def read_mot(path: str | Path) -> MotTable:
    """Read a MOT ``gt.txt`` / ``det.txt`` (comma or whitespace separated); blank lines are skipped.

    A track id that appears twice in one frame is an error too: it would make "reproduce the given tracks" ambiguous.
    """
    path = Path(path)
    if not path.is_file():
        raise MotFormatError(f"{path}: MOT file not found")
    rows = []
    seen: dict[tuple[int, int], int] = {}
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            fields = text.split(",") if "," in text else text.split()
            row = _parse_row(fields, path, line_no)
            key = (row[0], row[1])
            if row[1] >= 0 and key in seen:
                first = seen[key]
                raise MotFormatError(
                    f"{path}: row {line_no}: track id {row[1]} appears twice in frame {row[0]} (first at row {first})"
                )
            seen[key] = line_no
            rows.append(row)
    if not rows:
        raise MotFormatError(f"{path}: no rows (an empty MOT file)")
    table = MotTable.from_rows(rows)
    log.debug("%s: %d rows, %d frames", path, len(table), len(np.unique(table.frames)))
    return table


def write_mot(table: MotTable, path: str | Path) -> Path:
    """Write the 10-column MOT15 layout (world coordinates -1), the format :func:`read_mot` reads back exactly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{f},{i},{b[0]:.6g},{b[1]:.6g},{b[2]:.6g},{b[3]:.6g},{s:.6g},-1,-1,-1"
        for f, i, b, s in zip(table.frames, table.ids, table.boxes, table.scores, strict=True)
    ]
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path
