"""A synthetic street scene for tracker tests: procedural people (``m3dreid.data.render``) walking across a static
textured background and crossing each other, written to a real video file, with the known box of every person in
every frame (the tight box of the visible part of its mask, as a MOT ``gt.txt`` would hold it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from m3dreid.data.render import Appearance, Identity, Motion, render_person
from m3dreid.video.mot import MotTable


@dataclass(frozen=True)
class Walker:
    identity: Identity
    start: int  # first frame number (1-based) the walker exists
    x0: float  # left edge of its crop at ``start``
    y: int  # top edge of its crop (constant: walking along a line)
    speed: float  # pixels a frame (negative = walking left)
    height: int


def _identity(shirt, pants, texture, period) -> Identity:
    return Identity(
        appearance=Appearance(
            shirt=shirt, shirt2=(30, 30, 30), texture=texture, pants=pants, skin=(150, 180, 220), hair=(20, 30, 40)
        ),  # fmt: skip
        motion=Motion(period=period),
    )


def default_walkers() -> list[Walker]:
    """Four people in three lanes: two walking right, two left; each passes the others, partly occluding them."""
    return [
        Walker(_identity((40, 40, 220), (90, 60, 20), "plain", 10), start=2, x0=-20, y=4, speed=3.0, height=42),
        Walker(_identity((220, 80, 30), (40, 40, 40), "stripes", 8), start=4, x0=222, y=36, speed=-3.2, height=44),
        Walker(_identity((40, 200, 40), (120, 120, 160), "checks", 12), start=8, x0=-24, y=74, speed=2.8, height=48),
        Walker(_identity((0, 200, 230), (70, 20, 90), "split", 9), start=14, x0=226, y=8, speed=-2.6, height=44),
    ]


def render_scene(
    path: Path, *, walkers: list[Walker], frames: int = 72, size: tuple[int, int] = (128, 224), seed: int = 0
) -> MotTable:
    """Write the scene to ``path`` (MJPG AVI) and return the ground-truth boxes (track id = walker index + 1)."""
    rng = np.random.default_rng(seed)
    height, width = size
    background = cv2.GaussianBlur(rng.integers(60, 200, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write MJPG video here")
    rows = []
    for number in range(1, frames + 1):
        frame = background.copy()
        # far (smaller y) people first, so nearer ones occlude them
        for index in sorted(range(len(walkers)), key=lambda i: walkers[i].y + walkers[i].height):
            w = walkers[index]
            if number < w.start:
                continue
            t = number - w.start
            crop, mask = render_person(w.identity, t=t, height=w.height, facing=1 if w.speed > 0 else -1)
            x = int(round(w.x0 + w.speed * t))
            _paste(frame, crop, mask, x, w.y)
            full = int((mask > 127).sum())
            box = _visible_box(mask, x, w.y, width, height)
            if box is not None and box[4] >= 0.4 * full:
                rows.append((number, index + 1, *box[:4], 1.0))
        writer.write(frame)
    writer.release()
    return MotTable.from_rows(rows)


def _paste(frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
    fh, fw = frame.shape[:2]
    h, w = mask.shape
    x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x2 <= x1 or y2 <= y1:
        return
    alpha = mask[y1 - y : y2 - y, x1 - x : x2 - x, None] / 255.0  # (h', w', 1)
    region = frame[y1:y2, x1:x2]
    region[:] = (alpha * crop[y1 - y : y2 - y, x1 - x : x2 - x] + (1 - alpha) * region).astype(np.uint8)


def _visible_box(mask: np.ndarray, x: int, y: int, fw: int, fh: int) -> tuple[int, int, int, int, int] | None:
    """Tight (x, y, w, h) of the mask's pixels inside the frame, and how many pixels that is."""
    ys, xs = np.nonzero(mask > 127)
    xs, ys = xs + x, ys + y
    inside = (xs >= 0) & (xs < fw) & (ys >= 0) & (ys < fh)
    if not inside.any():
        return None
    xs, ys = xs[inside], ys[inside]
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1), int(inside.sum())
