"""Images the viewer makes from crops: a track's thumbnail strip (JPEG) and its crops as an animated GIF.

Both are made in memory from the crops on disk; the viewer never writes them into the index folder.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

__all__ = ["strip_jpeg", "animation_gif", "evenly_spaced"]

MISSING_GREY = 200


def _tile(path: Path | None, height: int, width: int) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path is not None else None
    if image is None:  # gone, unreadable, or refused (outside the track's folder): a grey tile, not an error
        return np.full((height, width, 3), MISSING_GREY, np.uint8)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def evenly_spaced(items: Sequence, n: int) -> list:
    """``n`` items spread over ``items`` (all of them if there are fewer), first and last included."""
    if len(items) <= n:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def strip_jpeg(paths: Sequence[Path | None], *, height: int = 96, width: int = 48, gap: int = 2) -> bytes:
    """The crops side by side (each ``height x width``), ``gap`` white pixels apart, as JPEG bytes."""
    tiles = [_tile(p, height, width) for p in paths] or [_tile(None, height, width)]
    white = np.full((height, gap, 3), 255, np.uint8)
    row = np.hstack([part for tile in tiles for part in (tile, white)][:-1])  # (H, n*W + gaps, 3)
    ok, data = cv2.imencode(".jpg", row, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise RuntimeError("could not encode the strip as JPEG")
    return data.tobytes()


def animation_gif(paths: Sequence[Path], *, fps: float, height: int = 128, max_frames: int = 40) -> bytes:
    """The crops as a looping GIF at the video's speed (``max_frames`` evenly spaced frames at most)."""
    picked = evenly_spaced(list(paths), max_frames)
    step = max(1.0, (len(paths) - 1) / max(1, len(picked) - 1)) if len(picked) > 1 else 1.0
    frame_ms = int(round(1000.0 * step / fps)) if fps > 0 else 80
    rgb = [cv2.cvtColor(_tile(p, height, height // 2), cv2.COLOR_BGR2RGB) for p in picked or [None]]  # (H, W, 3)
    # one palette for the whole clip, from a mosaic of a few frames: quantising each frame on its own (PIL's
    # default) costs about 50 times more and makes the colours flicker from frame to frame
    mosaic = Image.fromarray(np.concatenate(evenly_spaced(rgb, 10), axis=0))  # (<=10 H, W, 3)
    palette = mosaic.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    frames = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in rgb]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=max(20, frame_ms), loop=0)
    return buffer.getvalue()
