"""Synthetic street scenes with known tracks: procedural people walking across one or several cameras.

What it is for: the own-footage pipeline (``tracklets`` -> ``index`` -> ``search`` / ``serve``) and self-supervised
adaptation need videos in which the truth is known, to test and demonstrate them without shipping anyone's footage.
A scene is one video per camera plus MOT ground truth (``frame,id,x,y,w,h,conf,-1,-1,-1``, 1-based frames, as MOT15)
and ``scene.json`` saying which person each track is. The same person walks through several cameras at different
times, so "find the other appearances of this person" has a right answer.

People are drawn by :func:`m3dreid.data.render.render_person` (side view, walking). Nearer people (lower on the
image) are taller and drawn last, so they occlude the others; a ground-truth row is written while at least
``min_visible`` of the person's pixels are visible (inside the frame and not covered by someone nearer).

Layout written by :func:`render_multicamera_scene`::

    OUT/scene.json          {"version", "seed", "size", "fps", "cameras": [{"camid", "video", "gt"}],
                             "tracks": [{"camid", "track_id", "person", "first_frame", "last_frame"}]}
    OUT/cam1.avi            MJPG video of camera 1 (``camid`` 1), ...
    OUT/cam1_gt.txt         its ground truth; track ids are unique over the whole scene

Everything is drawn from ``np.random.default_rng`` seeded by ``seed``: the same arguments give the same videos.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from m3dreid.data.render import TEXTURES, Appearance, Identity, Motion, render_person
from m3dreid.errors import InputError, prepare_output
from m3dreid.utils.io import atomic_write_text
from m3dreid.video.mot import MotTable, write_mot

__all__ = ["Walker", "MultiCameraScene", "render_scene", "render_multicamera_scene", "SCENE_VERSION"]

SCENE_FILES = ("scene.json", "cam*.avi", "cam*_gt.txt")  # what render_multicamera_scene writes in its folder

SCENE_VERSION = 1


@dataclass(frozen=True)
class Walker:
    """One person crossing one camera's view along a horizontal line."""

    identity: Identity
    start: int  # first frame number (1-based) the walker exists
    x0: float  # left edge of its crop at ``start``
    y: int  # top edge of its crop (constant: walking along a line)
    speed: float  # pixels a frame (negative = walking left)
    height: int  # crop height in pixels
    track_id: int = 0  # id written to the ground truth (0: the walker's index + 1)


@dataclass(frozen=True)
class MultiCameraScene:
    root: Path
    videos: tuple[Path, ...]  # one per camera, camera k + 1 at index k
    gt: tuple[Path, ...]
    tracks: tuple[dict, ...]  # {"camid", "track_id", "person", "first_frame", "last_frame"}

    def person_of(self, camid: int, track_id: int) -> int:
        for rec in self.tracks:
            if rec["camid"] == camid and rec["track_id"] == track_id:
                return rec["person"]
        raise KeyError(f"no track {track_id} in camera {camid}")


def _street(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A static street background: facade with panels and windows above a ground plane, lightly blurred."""
    bg = np.empty((height, width, 3), np.float32)
    bg[:] = rng.uniform(70, 190, 3)
    horizon = int(height * rng.uniform(0.35, 0.5))
    bg[horizon:] = rng.uniform(50, 150, 3)
    for _ in range(max(4, width // 24)):  # facade panels, windows, doors
        x0, w = int(rng.integers(0, width)), int(rng.integers(width // 30 + 2, width // 6 + 3))
        y0, h = int(rng.integers(0, horizon)), int(rng.integers(height // 20 + 2, height // 4 + 3))
        bg[y0 : min(horizon, y0 + h), x0 : x0 + w] = rng.uniform(30, 230, 3)
    for _ in range(3):  # kerb lines / shadows on the ground
        y = int(rng.integers(horizon, height))
        bg[y : y + max(1, height // 100)] *= rng.uniform(0.6, 0.9)
    noise = rng.normal(0, 6, (height, width, 1)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(bg + noise, (0, 0), 1.0), 0, 255)


def _person(rng: np.random.Generator) -> Identity:
    def colour(sat=(0.4, 1.0), val=(0.3, 0.95)) -> tuple[int, int, int]:
        hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]], np.uint8)
        return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])

    appearance = Appearance(
        shirt=colour(),
        shirt2=colour(),
        texture=str(rng.choice(TEXTURES)),
        pants=colour(sat=(0.0, 0.6), val=(0.15, 0.7)),
        skin=colour(sat=(0.3, 0.6), val=(0.5, 0.9)),
        hair=colour(sat=(0.2, 0.8), val=(0.05, 0.5)),
        height_scale=float(rng.uniform(0.85, 1.0)),
        build=float(rng.uniform(0.8, 1.2)),
        bag=colour() if rng.random() < 0.3 else None,
    )
    return Identity(appearance, Motion(period=float(rng.uniform(7, 13))))


def _paste(frame: np.ndarray, owner: np.ndarray, crop: np.ndarray, mask: np.ndarray, x: int, y: int, who: int) -> None:
    """Alpha-blend ``crop`` at (x, y); pixels the person covers (alpha > 0.5) become ``who``'s in ``owner``."""
    fh, fw = frame.shape[:2]
    h, w = mask.shape
    x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x2 <= x1 or y2 <= y1:
        return
    m = mask[y1 - y : y2 - y, x1 - x : x2 - x]
    alpha = m[..., None] / 255.0  # (h', w', 1)
    region = frame[y1:y2, x1:x2]
    region[:] = (alpha * crop[y1 - y : y2 - y, x1 - x : x2 - x] + (1 - alpha) * region).astype(np.uint8)
    owner[y1:y2, x1:x2][m > 127] = who


def render_scene(
    path: str | Path,
    *,
    walkers: list[Walker],
    frames: int = 72,
    size: tuple[int, int] = (128, 224),
    seed: int = 0,
    background: np.ndarray | None = None,
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0),
    min_visible: float = 0.4,
) -> MotTable:
    """Write one camera's video to ``path`` (MJPG AVI) and return its ground truth.

    ``background`` (``(H, W, 3)`` BGR) defaults to blurred noise drawn from ``seed``; ``gain`` scales the finished
    frame's B, G, R channels (a camera's colour cast). A walker's row is its full box inside the frame, written while
    at least ``min_visible`` of its pixels are visible.
    """
    height, width = size
    if background is None:
        rng = np.random.default_rng(seed)
        background = cv2.GaussianBlur(rng.integers(60, 200, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    background = np.asarray(background, np.uint8)
    if background.shape != (height, width, 3):
        raise ValueError(f"render_scene: background shape {background.shape} does not match size {size}")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write MJPG video here")
    gain_arr = np.asarray(gain, np.float32)
    order = sorted(range(len(walkers)), key=lambda i: walkers[i].y + walkers[i].height)  # far first
    rows = []
    for number in range(1, frames + 1):
        frame = background.copy()
        owner = np.full((height, width), -1, np.int32)
        drawn = []  # (walker index, x, full pixel count)
        for index in order:
            w = walkers[index]
            if number < w.start:
                continue
            t = number - w.start
            crop, mask = render_person(w.identity, t=t, height=w.height, facing=1 if w.speed > 0 else -1)
            x = int(round(w.x0 + w.speed * t))
            if x >= width or x + mask.shape[1] <= 0:
                continue
            _paste(frame, owner, crop, mask, x, w.y, index)
            drawn.append((index, x, mask))
        for index, x, mask in drawn:
            full = int((mask > 127).sum())
            visible = int((owner == index).sum())
            box = _box_in_frame(mask, x, walkers[index].y, width, height)
            if box is not None and full > 0 and visible >= min_visible * full:
                rows.append((number, walkers[index].track_id or index + 1, *box, 1.0))
        if tuple(gain) != (1.0, 1.0, 1.0):
            frame = np.clip(frame * gain_arr, 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()
    return MotTable.from_rows(rows)


def _box_in_frame(mask: np.ndarray, x: int, y: int, fw: int, fh: int) -> tuple[int, int, int, int] | None:
    """Tight (x, y, w, h) of the person's pixels (mask > 127) that fall inside the frame."""
    ys, xs = np.nonzero(mask > 127)
    xs, ys = xs + x, ys + y
    inside = (xs >= 0) & (xs < fw) & (ys >= 0) & (ys < fh)
    if not inside.any():
        return None
    xs, ys = xs[inside], ys[inside]
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def render_multicamera_scene(
    out_dir: str | Path,
    *,
    cameras: int = 2,
    people: int = 6,
    frames: int = 150,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    overwrite: bool = False,
) -> MultiCameraScene:
    """Render ``people`` persons walking through ``cameras`` views over ``frames`` frames each (see module docstring).

    Every person crosses 1 to ``cameras`` views (most several), once per view, at a random time, lane and speed;
    nearer lanes show taller people. Writes into ``out_dir``, which must be empty or missing (``overwrite``
    replaces the files of an earlier scene there, nothing else).
    """
    if cameras < 1 or people < 1 or frames < 10:
        raise InputError(f"render_multicamera_scene: need cameras >= 1, people >= 1, frames >= 10 "
                         f"(got {cameras}, {people}, {frames})")  # fmt: skip
    height, width = size
    out = Path(out_dir)
    prepare_output(out, overwrite=overwrite, owned=SCENE_FILES)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng((seed, 7))
    identities = [_person(rng) for _ in range(people)]
    visits: dict[int, list[Walker]] = {c: [] for c in range(cameras)}
    track_person: dict[int, int] = {}
    next_track = 1
    for person, identity in enumerate(identities, start=1):
        n_views = int(rng.integers(1, cameras + 1)) if cameras > 1 else 1
        if cameras > 1 and n_views == 1 and rng.random() < 0.7:
            n_views = 2  # most people are seen twice: re-identification has something to find
        for cam in sorted(rng.choice(cameras, n_views, replace=False).tolist()):
            depth = rng.uniform(0.0, 1.0)  # 0 = far lane (small, high on the image), 1 = near lane
            ph = int(round(height * (0.3 + 0.3 * depth)))
            y = int(round(height * (0.38 + 0.38 * depth))) - ph // 2
            y = min(max(0, y), height - ph)
            speed = float(rng.uniform(1.5, 3.5)) * (ph / (0.45 * height)) * (1 if rng.random() < 0.5 else -1)
            crossing = int(math.ceil((width + ph) / abs(speed)))
            start = int(rng.integers(1, max(2, frames - min(crossing, frames) // 2)))
            x0 = -ph / 2 if speed > 0 else width - 1
            visits[cam].append(Walker(identity, start, x0, y, speed, ph, track_id=next_track))
            track_person[next_track] = person
            next_track += 1
    videos, gts, tracks = [], [], []
    for cam in range(cameras):
        cam_rng = np.random.default_rng((seed, 11, cam))
        background = _street(cam_rng, height, width).astype(np.uint8)
        gain = tuple(float(g) for g in cam_rng.uniform(0.85, 1.15) * cam_rng.uniform(0.93, 1.07, 3))
        video, gt_path = out / f"cam{cam + 1}.avi", out / f"cam{cam + 1}_gt.txt"
        table = render_scene(video, walkers=visits[cam], frames=frames, size=size, background=background, gain=gain)
        write_mot(table, gt_path)
        videos.append(video)
        gts.append(gt_path)
        for track_id in sorted({int(i) for i in table.ids}):
            frames_of, _ = table.track(track_id)
            tracks.append({"camid": cam + 1, "track_id": track_id, "person": track_person[track_id],
                           "first_frame": int(frames_of.min()), "last_frame": int(frames_of.max())})  # fmt: skip
    meta = {
        "version": SCENE_VERSION,
        "seed": seed,
        "size": [height, width],
        "fps": 25.0,
        "cameras": [{"camid": c + 1, "video": videos[c].name, "gt": gts[c].name} for c in range(cameras)],
        "tracks": tracks,
    }
    atomic_write_text(out / "scene.json", json.dumps(meta, indent=1) + "\n")
    return MultiCameraScene(out, tuple(videos), tuple(gts), tuple(tracks))
