"""Draw a ranked list as one image: the query's middle frame, then the top-k gallery tracklets, each with its rank,
distance, camera and track id under it.

Tiles are read and the image is written by the same code as the report's ranked lists (:mod:`m3dreid.report.ranked`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from m3dreid.report.ranked import strip_image, write_image

__all__ = ["ranked_list_image"]


def _thumb(path: str, height: int, width: int) -> np.ndarray:
    # a moved or deleted crop must not stop the search: strip_image shows a grey tile instead
    return strip_image([path], frames=1, height=height, width=width, border=0, colour=(255, 255, 255))


def _label(tile: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    band = np.full((14 * len(lines) + 4, tile.shape[1], 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(band, text, (2, 12 + 14 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([tile, band])


def ranked_list_image(
    query_frame: str,
    results: Sequence[dict],
    path: str | Path,
    *,
    height: int = 128,
    width: int = 64,
) -> Path:
    """``results``: dicts with ``thumbnail``, ``rank``, ``distance``, ``camid``, ``track_id`` (best first)."""
    tiles = [_label(_thumb(query_frame, height, width), ["query", "", ""])]
    for r in results:
        lines = [f"#{r['rank']} d={r['distance']:.3g}", f"cam {r['camid']}", f"track {r['track_id']}"]
        tiles.append(_label(_thumb(r["thumbnail"], height, width), lines))
    gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
    row = np.hstack([part for tile in tiles for part in (tile, gap)][:-1])
    return write_image(row, path)
