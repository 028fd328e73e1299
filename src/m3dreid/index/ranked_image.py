"""Draw a ranked list as one image: the query's representative crop, then the top-k gallery tracklets, each with a
label band under it (rank and distance, camera and track, the "same person?" cue), and a contact sheet of all tracks
of a tracklet folder.

Tiles are read and the image is written by the same code as the report's ranked lists (:mod:`m3dreid.report.ranked`).
A hit at or below the index's same-person threshold gets a green frame, any other a grey one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from m3dreid.report.ranked import strip_image, write_image

__all__ = ["ranked_list_image", "contact_sheet"]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SAME = (60, 170, 60)  # BGR green frame: probably the same person
_OTHER = (200, 200, 200)
_QUERY = (200, 120, 40)


def _thumb(path: str, height: int, width: int, colour=(255, 255, 255), border: int = 0) -> np.ndarray:
    # a moved or deleted crop must not stop the search: strip_image shows a grey tile instead (the CLI warns)
    return strip_image([path], frames=1, height=height, width=width, border=border, colour=colour)


def _fit(text: str, width: int, scale: float = 0.4) -> float:
    """The largest font scale <= ``scale`` at which ``text`` fits ``width`` pixels."""
    while scale > 0.2 and cv2.getTextSize(text, _FONT, scale, 1)[0][0] > width - 4:
        scale -= 0.02
    return scale


def _label(tile: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    band = np.full((14 * len(lines) + 4, tile.shape[1], 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(band, text, (2, 12 + 14 * i), _FONT, _fit(text, tile.shape[1]), (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([tile, band])


def _row(tiles: list[np.ndarray], gap: int = 4) -> np.ndarray:
    height = max(t.shape[0] for t in tiles)
    tiles = [np.vstack([t, np.full((height - t.shape[0], t.shape[1], 3), 255, np.uint8)]) for t in tiles]
    spacer = np.full((height, gap, 3), 255, np.uint8)
    return np.hstack([part for tile in tiles for part in (tile, spacer)][:-1])


def ranked_list_image(
    query_frame: str,
    results: Sequence[dict],
    path: str | Path,
    *,
    height: int = 128,
    width: int = 64,
    threshold: float | None = None,
    query_label: Sequence[str] = ("query", "", ""),
) -> Path:
    """``results``: dicts with ``thumbnail``, ``rank``, ``distance``, ``camid``, ``track_id`` and optionally
    ``same_person`` (best first). Each tile is ``width + 4`` px wide (a 2 px frame) plus a 4 px gap."""
    tiles = [_label(_thumb(query_frame, height, width, _QUERY, 2), list(query_label))]
    for r in results:
        same = r.get("same_person")
        cue = "same?" if same else ("" if same is None or threshold is None else "other")
        lines = [f"#{r['rank']} d={r['distance']:.3g}", f"c{r['camid']} t{r['track_id']}", cue]
        tiles.append(_label(_thumb(r["thumbnail"], height, width, _SAME if same else _OTHER, 2), lines))
    return write_image(_row(tiles), path)


def contact_sheet(
    tracks: dict[int, list[str]],
    path: str | Path,
    *,
    height: int = 96,
    width: int = 48,
    per_row: int = 12,
    thumbnails: dict[int, str] | None = None,
    labels: dict[int, Sequence[str]] | None = None,
) -> Path:
    """One tile per track (``track id -> crop paths``), ``per_row`` tiles a row, labelled with the track id and
    frame count. ``thumbnails`` picks each track's crop (default: its middle one)."""
    if not tracks:
        raise ValueError("contact_sheet: no tracks")
    tiles = []
    for track_id, paths in tracks.items():
        thumb = (thumbnails or {}).get(track_id) or paths[len(paths) // 2]
        lines = (labels or {}).get(track_id) or [f"track {track_id}", f"{len(paths)} fr"]
        tiles.append(_label(_thumb(thumb, height, width, _OTHER, 1), lines))
    rows = [_row(tiles[i : i + per_row]) for i in range(0, len(tiles), per_row)]
    full = max(r.shape[1] for r in rows)
    rows = [np.hstack([r, np.full((r.shape[0], full - r.shape[1], 3), 255, np.uint8)]) for r in rows]
    sheet = np.vstack([part for r in rows for part in (r, np.full((4, full, 3), 255, np.uint8))][:-1])
    return write_image(sheet, path)
