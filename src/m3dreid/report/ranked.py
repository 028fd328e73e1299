"""Ranked-list images: a query tracklet strip, then its top-k gallery strips with green (match) / red borders.

The list is the one the metrics count: gallery items that are junk for this query (same pid and camera, or a junk
pid) are left out. Strips show a few evenly spaced frames of each tracklet, read from the paths saved in
``features.npz``; a frame that is no longer on disk is drawn grey.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from m3dreid.evaluation.distance import pairwise_distance
from m3dreid.evaluation.features import FeatureSet
from m3dreid.evaluation.rank import junk_mask

__all__ = ["ranked_gallery", "strip_image", "write_image", "ranked_list_image"]

log = logging.getLogger(__name__)

GREEN = (40, 170, 40)  # BGR
RED = (40, 40, 210)
BLUE = (200, 120, 30)


def ranked_gallery(features: FeatureSet, query: int, *, top_k: int = 10, metric: str = "euclidean") -> list[int]:
    """Gallery indices of the ``top_k`` nearest non-junk items for query ``query``."""
    dist = pairwise_distance(features.q_feats[query : query + 1], features.g_feats, metric=metric)[0].numpy()  # (G,)
    q_pid, q_camid = features.q_pids[query], features.q_camids[query]
    junk = junk_mask(q_pid, q_camid, features.g_pids, features.g_camids, features.junk_pids)
    order = np.argsort(dist, kind="stable")
    return [int(i) for i in order if not junk[i]][:top_k]


def strip_image(paths, *, frames: int, height: int, width: int, border: int, colour) -> np.ndarray:
    """``frames`` frames side by side, each resized to ``height x width``, inside a coloured border."""
    picked = [p for p in paths if p][:frames]
    tiles = []
    for path in picked:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if Path(path).is_file() else None
        if image is None:
            image = np.full((height, width, 3), 128, np.uint8)
        tiles.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
    while len(tiles) < frames:
        tiles.append(np.full((height, width, 3), 235, np.uint8))
    strip = np.concatenate(tiles, axis=1)  # (H, frames*W, 3)
    return cv2.copyMakeBorder(strip, border, border, border, border, cv2.BORDER_CONSTANT, value=colour)


def write_image(image: np.ndarray, path: str | Path) -> Path:
    """Write a ranked-list image (BGR), making its folder; an error names the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: could not write the ranked-list image (unknown image extension?)")
    return path


def ranked_list_image(
    features: FeatureSet,
    queries: list[int],
    path: str | Path,
    *,
    top_k: int = 10,
    frames: int = 4,
    height: int = 64,
    width: int = 32,
    metric: str = "euclidean",
) -> Path:
    """One row per query: its strip (blue border), a gap, then the top-k gallery strips; written as a PNG."""
    border, gap = 3, 8
    rows = []
    for q in queries:
        cells = [
            strip_image(features.q_paths[q], frames=frames, height=height, width=width, border=border, colour=BLUE)
        ]
        cells.append(np.full((height + 2 * border, gap * 2, 3), 255, np.uint8))
        for g in ranked_gallery(features, q, top_k=top_k, metric=metric):
            colour = GREEN if features.g_pids[g] == features.q_pids[q] else RED
            cells.append(
                strip_image(
                    features.g_paths[g], frames=frames, height=height, width=width, border=border, colour=colour
                )
            )
            cells.append(np.full((height + 2 * border, gap, 3), 255, np.uint8))
        rows.append(np.concatenate(cells, axis=1))
    full_width = max(r.shape[1] for r in rows)
    padded = []
    for row in rows:
        pad = np.full((row.shape[0], full_width - row.shape[1], 3), 255, np.uint8)
        padded += [np.concatenate([row, pad], axis=1), np.full((gap, full_width, 3), 255, np.uint8)]
    image = np.concatenate(padded, axis=0)  # (rows*(H+gap), W, 3)
    return write_image(image, path)
