"""The colour-histogram floor: HSV histograms of the upper and lower half of the person box, averaged over a tracklet.

Why it exists: a learned model is only worth shipping (or a temporal model only worth its layers) if it beats what
plain colour statistics give for free. Every benchmark that reports a learned feature reports this floor beside it.

Definition (fixed, so floors are comparable across benchmarks): each frame is resized to ``height x width``, split
into an upper and a lower half (shirt and trousers); each half gives a joint HSV histogram of ``bins`` (H, S, V)
cells, normalised to sum 1. The frame vector is the two halves concatenated; the tracklet vector is the mean over
its frames, then the element-wise square root (so that the Euclidean distance between two vectors is the Hellinger
distance between the histograms, a proper metric for distributions, up to a factor sqrt(2)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from m3dreid.data.transforms import read_frames

__all__ = ["color_histogram", "tracklet_histogram", "histogram_features"]

BINS = (8, 4, 4)  # hue, saturation, value cells
SIZE = (64, 32)  # frames are resized to this (height, width) first


def color_histogram(frames: np.ndarray, bins: tuple[int, int, int] = BINS) -> np.ndarray:
    """``(T, H, W, 3)`` RGB uint8 frames (as ``read_frames`` gives them) -> ``(2 * prod(bins),)`` float32 tracklet
    vector (see the module docstring)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"color_histogram: expected (T, H, W, 3) RGB frames with T >= 1, got {frames.shape}")
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in frames])  # (T, H, W, 3), H in 0..179
    h, s, v = (hsv[..., i].astype(np.int64) for i in range(3))
    cell = (h * bins[0] // 180) * bins[1] * bins[2] + (s * bins[1] // 256) * bins[2] + v * bins[2] // 256
    half = frames.shape[1] // 2
    n_cells = int(np.prod(bins))
    parts = []
    for rows in (slice(0, half), slice(half, None)):
        c = cell[:, rows].reshape(len(frames), -1)  # (T, pixels)
        counts = np.stack([np.bincount(row, minlength=n_cells) for row in c]).astype(np.float64)  # (T, cells)
        parts.append(counts / counts.sum(axis=1, keepdims=True))
    per_frame = np.concatenate(parts, axis=1)  # (T, 2 * cells)
    return np.sqrt(per_frame.mean(axis=0)).astype(np.float32)


def tracklet_histogram(paths: Sequence[str], size: tuple[int, int] = SIZE) -> np.ndarray:
    """The colour-histogram vector of a tracklet given as frame paths."""
    return color_histogram(read_frames(list(paths), *size))


def histogram_features(dataset: Any, *, size: tuple[int, int] = SIZE, meta: dict | None = None):
    """Colour-histogram :class:`~m3dreid.evaluation.features.FeatureSet` of a dataset's query and gallery."""
    from m3dreid.evaluation.features import feature_set

    query, gallery = list(dataset.query), list(dataset.gallery)
    feats = np.stack([tracklet_histogram(t.frames, size) for t in query + gallery])  # (Q + G, D)
    return feature_set(dataset, feats, meta={"model": "color_histogram"} | (meta or {}))
