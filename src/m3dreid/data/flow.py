"""Optical flow for the appearance-and-optical-flow (two-stream) baseline: OpenCV Farneback, computed once, cached.

Flow is computed between consecutive frames of a whole tracklet at the training resolution and stored quantised
(uint8, 1/8 pixel steps, clipped to +-16 px) in a compressed ``.npz`` per tracklet, so epochs only read it back.
The cache file name is a hash of the frame paths, the resolution and ``FLOW_VERSION``; a change of any of them
computes a new file. Where it lives: ``cache_dir`` if given (``data.flow_cache``), else a ``.m3dreid_flow`` folder
beside the tracklet's frames (readers ignore dot-folders).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from m3dreid.data.transforms import read_frames
from m3dreid.utils.io import atomic_write

__all__ = ["farneback_flow", "tracklet_flow", "flow_cache_path", "FLOW_SCALE", "FLOW_VERSION"]

log = logging.getLogger(__name__)

FLOW_VERSION = 1
FLOW_CLIP = 16.0  # pixels; larger displacements are clipped
_STEP = FLOW_CLIP / 127.5  # quantisation step (1/8 px)
FLOW_SCALE = 4.0  # flow channels fed to a network are divided by this (pixels -> order 1)


def farneback_flow(frames: np.ndarray) -> np.ndarray:
    """``(T, H, W, 3)`` RGB uint8 -> ``(T, 2, H, W)`` float32 flow (dx, dy) from frame t to t+1.

    The last frame repeats the previous flow (a tracklet of one frame has zero flow), so flow and frames align.
    """
    T, H, W = frames.shape[:3]
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    win = max(5, int(round(15 * W / 128)) | 1)
    out = np.zeros((T, 2, H, W), np.float32)
    for t in range(T - 1):
        flow = cv2.calcOpticalFlowFarneback(gray[t], gray[t + 1], None, 0.5, 3, win, 3, 5, 1.2, 0)  # (H, W, 2)
        out[t] = flow.transpose(2, 0, 1)  # (2, H, W)
    if T > 1:
        out[T - 1] = out[T - 2]
    return out


def flow_cache_path(frames: Sequence[str], height: int, width: int, cache_dir: str | os.PathLike | None) -> Path:
    key = hashlib.sha1(f"v{FLOW_VERSION} {height}x{width}\n".encode() + "\n".join(frames).encode()).hexdigest()
    folder = Path(cache_dir) if cache_dir else Path(frames[0]).parent / ".m3dreid_flow"
    return folder / f"{key[:20]}_{height}x{width}.npz"


def _quantise(flow: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(flow / _STEP + 127.5), 0, 255).astype(np.uint8)


def _dequantise(q: np.ndarray) -> np.ndarray:
    return (q.astype(np.float32) - 127.5) * _STEP


def tracklet_flow(
    frames: Sequence[str],
    height: int,
    width: int,
    *,
    cache_dir: str | os.PathLike | None = None,
    images: np.ndarray | None = None,
) -> np.ndarray:
    """``(T, 2, H, W)`` float32 flow of a whole tracklet, from the cache or computed and cached (atomic write).

    ``images`` may pass the already decoded ``(T, H, W, 3)`` frames to avoid decoding twice.
    """
    path = flow_cache_path(frames, height, width, cache_dir)
    if path.is_file():
        try:
            with np.load(path) as data:
                q = data["flow"]
            if q.shape == (len(frames), 2, height, width):
                return _dequantise(q)
            log.warning("%s: cached flow has shape %s, recomputing", path, q.shape)
        except (OSError, ValueError, KeyError) as err:
            log.warning("%s: unreadable cached flow (%s), recomputing", path, err)
    if images is None:
        images = read_frames(frames, height, width)
    q = _quantise(farneback_flow(images))
    try:
        atomic_write(path, lambda handle: np.savez_compressed(handle, flow=q))
    except OSError as err:
        msg = f"{path}: cannot write the flow cache ({err}); set data.flow_cache to a writable folder"
        raise OSError(msg) from None
    return _dequantise(q)
