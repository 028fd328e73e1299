"""Draw a ranked list as one image: the query's middle frame, then the top-k gallery tracklets, each with its rank,
distance, camera and track id under it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["ranked_list_image"]


def _thumb(path: str, height: int, width: int) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:  # a moved or deleted crop must not stop the search; show a grey tile instead
        return np.full((height, width, 3), 128, np.uint8)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), row):
        raise OSError(f"{path}: could not write the ranked-list image (unknown image extension?)")
    return path
