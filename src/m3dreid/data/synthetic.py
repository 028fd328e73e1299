"""Synthetic walking-people video re-id dataset in the MARS layout: temporal cues by construction, built on CPU.

Why: a video re-id method is only worth its temporal layers if some identities can *only* be told apart over time.
Real data mixes that with everything else; here each identity belongs to a group of ``members`` identities of one
*kind*:

* ``motion`` - the members look identical (same clothes, height, build) and differ only in short-term motion:
  standing still, a slow stride (period 12 frames) or a fast one (period 4). Pose per frame is a function of the
  stride phase, uniform over a tracklet, so no single frame tells them apart; frame order (and the background
  scrolling with the walking speed, as in a tracking crop) does. Local temporal layers should solve these. Their
  gait is wider than the others' (``MOTION_GAIT``) so that the motion is plain at 64x32 (measured, CPU demo, seeds
  0-2: the M3D stream's rhythm-group mAP rises from 39-62 to 80-98 with it; the motion groups themselves stay near
  chance after 1,000 steps: the nearest gallery tracklet is mostly a look-alike group member in the query's camera).
* ``rhythm`` - identical look and gait (period 8); the shirt flashes to another colour for ``h`` frames every ``2h``
  frames with ``h`` in (1, 2, 4). The duty cycle is always 50 %, so colour statistics are the same; only the
  rhythm, up to 8 frames long, differs. A longer-range temporal model should solve these.
* ``appearance`` - same gait (period 8), different clothes/height/build. A 2D model (or a colour histogram) suffices.

A size's ``mix`` says how many groups of each kind make one unit of ``train_groups`` / ``test_groups``; ``small``
doubles the appearance groups, as real re-id data is mostly told apart by appearance (a 2D stream then is about as
strong as a temporal one overall, and the two are complementary, as in the paper's two-stream result).

Each split draws its own groups (train and test identities are disjoint, as in re-id); the motion and rhythm
vocabularies are shared, so what a model learns about them transfers. Cameras differ in background texture, person
scale, gain/colour cast, blur, noise and a static occluder. Test pid 0 tracklets are distractors (random people), pid
-1 tracklets are junk (bad crops), as in MARS. ``info/groups.json`` records every pid's split, kind, group and motion.

Determinism: every tracklet draws from its own ``np.random.default_rng((seed, split, pid, cam, k))``, JPEGs are
encoded by OpenCV (deterministic) and the MAT headers carry a fixed text instead of a date, so the same seed gives
byte-identical files in any order or number of worker processes.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import scipy.io

from m3dreid.data.render import TEXTURES, Appearance, Identity, Motion, render_person

__all__ = ["SIZES", "SyntheticSize", "Camera", "make_synthetic", "read_groups", "KINDS", "render_frame"]

log = logging.getLogger(__name__)

KINDS = ("motion", "rhythm", "appearance")
MOTION_PERIODS = (0.0, 12.0, 4.0)  # still, slow, fast
MOTION_GAIT = {"leg_swing": 45.0, "arm_swing": 45.0, "bounce": 0.08}  # motion groups: wider than Motion's defaults
RHYTHM_HALF_PERIODS = (1, 2, 4)
BASE_PERIOD = 8.0
STRIDE_PX = 0.35  # background scroll per stride cycle, in units of frame height
SPLIT_CODE = {"train": 1, "test": 2}
_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by m3dreid make-synthetic"


@dataclass(frozen=True)
class SyntheticSize:
    train_groups: int  # units of ``mix`` groups in the train split
    test_groups: int  # units of ``mix`` groups in the test split
    members: int  # identities a group (<= 3: one per motion / rhythm pattern)
    cameras: int
    cams_per_id: tuple[int, int]  # each identity is seen by this many cameras (inclusive range)
    tracklets_per_cam: tuple[int, int]  # tracklets per identity per camera (inclusive range)
    frames: tuple[int, int]  # tracklet length (inclusive range, <= 999)
    height: int
    width: int
    distractors: int  # test tracklets of pid 0
    junk: int  # test tracklets of pid -1
    mix: tuple[int, int, int] = (1, 1, 1)  # groups of each kind (motion, rhythm, appearance) per unit of *_groups


# small (the CPU demo's): 96 train / 72 test identities, 216 queries. Measured (seeds 0-2): the former 6 train / 4 test
# units of (1, 1, 1) gave two-stream > both streams on 1 seed of 3, on 108 queries; this gives it on all 3.
SIZES = {
    "tiny": SyntheticSize(1, 3, 3, 2, (2, 2), (1, 1), (10, 12), 64, 32, 2, 2),
    "small": SyntheticSize(8, 6, 3, 3, (3, 3), (2, 2), (16, 32), 64, 32, 12, 6, mix=(1, 1, 2)),
    "full": SyntheticSize(40, 40, 3, 6, (2, 6), (1, 3), (16, 64), 128, 64, 400, 100),
}


@dataclass(frozen=True)
class Camera:
    background: np.ndarray  # (H, 5W, 3) float32: a 4W-periodic texture the crop window scrolls over, + W wrapped
    scale: float  # person height / frame height
    gain: tuple[float, float, float]  # per-channel (B, G, R) multiplier
    bias: float
    blur: float  # Gaussian sigma in pixels (0 = sharp)
    noise: float  # Gaussian noise sigma (grey levels)
    occluder: tuple[float, float, float, float] | None  # x0, y0, x1, y1 as fractions of the frame, or none
    occluder_color: tuple[int, int, int]


def _camera(seed: int, cam: int, height: int, width: int) -> Camera:
    rng = np.random.default_rng((seed, 0, cam))
    tw = 4 * width
    base = rng.uniform(60, 190, 3)
    bg = np.empty((height, tw, 3), np.float32)
    bg[:] = base
    ground = int(height * rng.uniform(0.6, 0.8))
    bg[ground:] = rng.uniform(40, 160, 3)
    for _ in range(10):  # facade: random vertical panels, windows, posts
        x0, w = rng.integers(0, tw), rng.integers(max(1, width // 8), max(2, width // 2))
        y0, h = rng.integers(0, ground), rng.integers(max(1, height // 8), max(2, height // 2))
        bg[y0 : min(ground, y0 + h), x0 : x0 + w] = rng.uniform(30, 230, 3)
    pad = width // 2  # blur the texture as a loop: pad with its own other end, blur, cut back
    bg = cv2.GaussianBlur(np.pad(bg, ((0, 0), (pad, pad), (0, 0)), mode="wrap"), (0, 0), max(0.5, height / 64))
    bg = bg[:, pad:-pad]
    bg = np.concatenate([bg, bg[:, :width]], axis=1)  # wrap-around copy: any window of width W is one slice
    occluder = None
    if rng.random() < 0.5:
        if rng.random() < 0.5:  # a post in front of the person
            x0 = rng.uniform(0.1, 0.7)
            occluder = (x0, 0.0, x0 + rng.uniform(0.1, 0.2), 1.0)
        else:  # a low wall or car bonnet hiding the feet
            occluder = (0.0, rng.uniform(0.8, 0.9), 1.0, 1.0)
    return Camera(
        background=bg,
        scale=float(rng.uniform(0.75, 0.95)),
        gain=tuple(float(g) for g in rng.uniform(0.8, 1.2) * rng.uniform(0.92, 1.08, 3)),
        bias=float(rng.uniform(-15, 15)),
        blur=float(rng.choice([0.0, 0.4, 0.7]) * height / 64),
        noise=float(rng.uniform(1.5, 5.0)),
        occluder=occluder,
        occluder_color=tuple(int(c) for c in rng.integers(20, 120, 3)),
    )


def _color(rng: np.random.Generator, hue: float | None = None, sat=(0.5, 1.0), val=(0.35, 0.95)) -> tuple:
    h = rng.uniform(0, 180) if hue is None else hue % 180
    hsv = np.array([[[h, rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]], np.float32)
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return tuple(int(c) for c in bgr)


def _appearance(rng: np.random.Generator, hue: float) -> Appearance:
    return Appearance(
        shirt=_color(rng, hue),
        shirt2=_color(rng, hue + 90),
        texture=str(rng.choice(TEXTURES)),
        pants=_color(rng, rng.uniform(0, 180), sat=(0.0, 0.6), val=(0.15, 0.7)),
        skin=_color(rng, rng.uniform(5, 20), sat=(0.3, 0.6), val=(0.5, 0.9)),
        hair=_color(rng, rng.uniform(0, 30), sat=(0.2, 0.8), val=(0.05, 0.5)),
        height_scale=float(rng.uniform(0.82, 1.0)),
        build=float(rng.uniform(0.8, 1.2)),
        bag=_color(rng) if rng.random() < 0.3 else None,
    )


def _groups(
    seed: int, split: str, groups: int, members: int, first_pid: int, mix: tuple[int, int, int] = (1, 1, 1)
) -> list[dict]:
    """Identities of one split, as dicts: pid, kind, group, member, identity."""
    rng = np.random.default_rng((seed, SPLIT_CODE[split], 0, 0))
    unit = [kind for kind, count in zip(KINDS, mix, strict=True) for _ in range(count)]
    n = groups * len(unit)
    hues = (rng.permutation(n) + rng.uniform(0, 1)) * 180.0 / n  # well separated shirt hues across groups
    out, pid = [], first_pid
    for g in range(n):
        kind = unit[g % len(unit)]
        look = _appearance(rng, hues[g])
        flash = _color(rng, hues[g] + 60, val=(0.8, 1.0))
        for m in range(members):
            app = look if kind != "appearance" else _appearance(rng, hues[g] + 60 * m)
            if kind == "motion":
                motion = Motion(period=MOTION_PERIODS[m], **MOTION_GAIT)
            elif kind == "rhythm":
                motion = Motion(period=BASE_PERIOD, half_period=RHYTHM_HALF_PERIODS[m], flash=flash)
            else:
                motion = Motion(period=BASE_PERIOD)
            out.append({"pid": pid, "kind": kind, "group": g, "member": m, "identity": Identity(app, motion)})
            pid += 1
    return out


def render_frame(identity: Identity, camera: Camera, t: int, state: dict, rng: np.random.Generator) -> np.ndarray:
    """One frame of a tracklet: scrolling background, the person, occluder, then the camera's photometry.

    ``state`` holds the tracklet's constants (phase, facing, offsets) drawn once by the caller.
    """
    H, W = camera.background.shape[0], camera.background.shape[1] // 5
    speed = STRIDE_PX * H / identity.motion.period if identity.motion.period > 0 else 0.0
    x_bg = int(state["bg_x"] + state["facing"] * speed * t) % (4 * W)
    frame = camera.background[:, x_bg : x_bg + W].copy()  # (H, W, 3)
    ph = max(4, int(round(H * camera.scale)))
    crop, mask = render_person(identity, t, ph, phase=state["phase"], facing=state["facing"])
    jx, jy = (int(v) for v in rng.integers(-1, 2, 2)) if rng.random() < 0.1 else (0, 0)
    x = (W - crop.shape[1]) // 2 + state["dx"] + jx
    y = H - ph - state["dy"] + jy
    fy0, fx0 = max(0, y), max(0, x)
    fy1, fx1 = min(H, y + ph), min(W, x + crop.shape[1])
    if fy1 > fy0 and fx1 > fx0:
        c = crop[fy0 - y : fy1 - y, fx0 - x : fx1 - x].astype(np.float32)
        a = mask[fy0 - y : fy1 - y, fx0 - x : fx1 - x, None].astype(np.float32) / 255.0
        frame[fy0:fy1, fx0:fx1] = a * c + (1 - a) * frame[fy0:fy1, fx0:fx1]
    if camera.occluder is not None:
        x0, y0, x1, y1 = camera.occluder
        frame[int(y0 * H) : int(math.ceil(y1 * H)), int(x0 * W) : int(math.ceil(x1 * W))] = camera.occluder_color
    frame = frame * np.asarray(camera.gain, np.float32) + camera.bias
    if camera.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), camera.blur)
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(camera.noise)
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def _write_tracklet(job: dict) -> list[str]:
    """Render one tracklet to ``job['folder']``; return its frame names (MARS convention)."""
    rng = np.random.default_rng((job["seed"], SPLIT_CODE[job["split"]], job["pid"] + 10, job["cam"], job["k"]))
    ident: Identity = job["identity"]
    camera: Camera = job["camera"]
    H = camera.background.shape[0]
    state = {
        "phase": float(rng.uniform(0, 2 * math.pi)),
        "facing": int(rng.choice([-1, 1])),
        "bg_x": int(rng.integers(0, camera.background.shape[1])),
        "dx": int(rng.integers(-H // 16, H // 16 + 1)),
        "dy": int(rng.integers(0, H // 32 + 1)),
    }
    if job["pid"] == -1:  # junk: a badly placed box, mostly background
        state["dx"] = int(rng.choice([-1, 1])) * H // 3
        state["dy"] = -H // 3
    n = int(rng.integers(job["frames"][0], job["frames"][1] + 1))
    t0 = int(rng.integers(0, 1000))
    prefix = f"{str(job['pid']).rjust(4, '0')}C{job['cam'] + 1}T{job['tracklet']:04d}"
    folder = Path(job["folder"])
    names = []
    for i in range(n):
        img = render_frame(ident, camera, t0 + i, state, rng)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {prefix}")
        name = f"{prefix}F{i + 1:03d}.jpg"
        (folder / name).write_bytes(buf.tobytes())
        names.append(name)
    return names


def _savemat(path: Path, key: str, value: np.ndarray) -> None:
    """``scipy.io.savemat`` with a fixed header text (the default one holds the creation date)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {key: value}, do_compression=False)
    data = bytearray(buf.getvalue())
    data[:116] = _MAT_HEADER.ljust(116, b" ")
    path.write_bytes(bytes(data))


def _plan(size: SyntheticSize, seed: int) -> tuple[list[dict], list[dict]]:
    """The tracklet jobs of each split, in MARS row order (pid, camera, tracklet), without camera objects."""
    train_ids = _groups(seed, "train", size.train_groups, size.members, first_pid=1, mix=size.mix)
    test_ids = _groups(seed, "test", size.test_groups, size.members, first_pid=len(train_ids) + 1, mix=size.mix)
    jobs: dict[str, list[dict]] = {"train": [], "test": []}
    for split, ids in (("train", train_ids), ("test", test_ids)):
        for rec in ids:
            rng = np.random.default_rng((seed, SPLIT_CODE[split], rec["pid"] + 10, 99))
            cams = sorted(rng.choice(size.cameras, int(rng.integers(*size.cams_per_id, endpoint=True)), False))
            tracklet = 0
            for cam in cams:
                for k in range(int(rng.integers(*size.tracklets_per_cam, endpoint=True))):
                    tracklet += 1
                    jobs[split].append({**rec, "split": split, "cam": int(cam), "k": k, "tracklet": tracklet})
    rng = np.random.default_rng((seed, 3))
    extra = []
    for pid, count in ((-1, size.junk), (0, size.distractors)):
        for i in range(count):
            ident = Identity(_appearance(rng, rng.uniform(0, 180)), Motion(period=float(rng.choice([0, 4, 8, 12]))))
            cam = int(rng.integers(size.cameras))
            extra.append({"pid": pid, "kind": "junk" if pid < 0 else "distractor", "group": -1, "member": -1,
                          "identity": ident, "split": "test", "cam": cam, "k": i, "tracklet": i + 1})  # fmt: skip
    jobs["test"] = sorted(extra, key=lambda j: (j["pid"], j["cam"], j["tracklet"])) + jobs["test"]
    return jobs["train"], jobs["test"]


def make_synthetic(
    out: str | Path, *, size: str = "small", seed: int = 0, workers: int = 1, overwrite: bool = False
) -> Path:
    """Write the synthetic dataset of ``size`` (tiny | small | full) to ``out`` in the MARS layout; return ``out``.

    ``out`` must be empty or missing; ``overwrite`` replaces the dataset folders of an earlier one (nothing else).
    """
    from m3dreid.errors import InputError, prepare_output

    if size not in SIZES:
        raise InputError(f"unknown synthetic size '{size}' (known: {', '.join(SIZES)})")
    spec = SIZES[size]
    out = prepare_output(out, overwrite=overwrite, owned=("bbox_train", "bbox_test", "info"))
    cameras = [_camera(seed, c, spec.height, spec.width) for c in range(spec.cameras)]
    train_jobs, test_jobs = _plan(spec, seed)
    meta = {"size": size, "seed": seed, "spec": asdict(spec)}
    return write_mars_layout(out, train_jobs, test_jobs, cameras=cameras, seed=seed, frames=spec.frames,
                             workers=workers, write_tracklet=_write_tracklet,
                             motion_of=lambda job: job["identity"].motion,
                             meta=meta, label=f"synthetic {size}")  # fmt: skip


def write_mars_layout(
    out: Path,
    train_jobs: list[dict],
    test_jobs: list[dict],
    *,
    cameras: list,
    seed: int,
    frames: int,
    workers: int,
    write_tracklet: Callable[[dict], list[str]],
    motion_of: Callable[[dict], Any],
    meta: dict,
    label: str,
) -> Path:
    """Render every planned tracklet with ``write_tracklet`` (a module-level function, so that worker processes can
    run it) and write the MARS layout around them: bbox folders, name lists, track info, query indices and
    ``info/groups.json`` (``meta`` plus each identity's kind, group and ``motion_of(job)``). Shared by every
    synthetic family; ``out`` has been prepared by the caller."""
    (out / "info").mkdir(parents=True, exist_ok=True)
    for split, jobs in (("train", train_jobs), ("test", test_jobs)):
        for job in jobs:
            folder = out / f"bbox_{split}" / str(job["pid"]).rjust(4, "0")
            folder.mkdir(parents=True, exist_ok=True)
            job.update(folder=str(folder), camera=cameras[job["cam"]], seed=seed, frames=frames)
    all_jobs = train_jobs + test_jobs
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            names = list(pool.map(write_tracklet, all_jobs, chunksize=8))
    else:
        names = [write_tracklet(job) for job in all_jobs]
    train_names, test_names = names[: len(train_jobs)], names[len(train_jobs) :]

    for split, jobs, lists in (("train", train_jobs, train_names), ("test", test_jobs, test_names)):
        flat, rows, start = [], [], 1
        for job, frames in zip(jobs, lists, strict=True):
            flat.extend(frames)
            rows.append([start, start + len(frames) - 1, job["pid"], job["cam"] + 1])
            start += len(frames)
        (out / "info" / f"{split}_name.txt").write_bytes("".join(f"{n}\r\n" for n in flat).encode("ascii"))
        _savemat(out / "info" / f"tracks_{split}_info.mat", f"track_{split}_info", np.asarray(rows, np.int32))
    # queries: the first tracklet of each real test identity in each of its cameras (MARS picks one per camera)
    seen, query = set(), []
    for row, job in enumerate(test_jobs, start=1):
        if job["pid"] > 0 and (job["pid"], job["cam"]) not in seen:
            seen.add((job["pid"], job["cam"]))
            query.append(row)
    _savemat(out / "info" / "query_IDX.mat", "query_IDX", np.asarray([query], np.uint32))
    groups = {
        str(j["pid"]): {
            "split": j["split"],
            "kind": j["kind"],
            "group": j["group"],
            "member": j["member"],
            "motion": asdict(motion_of(j)),
        }
        for j in all_jobs
        if j["pid"] > 0
    }
    (out / "info" / "groups.json").write_text(json.dumps({**meta, "pids": groups}, indent=1, sort_keys=True) + "\n")
    log.info("%s: %d train + %d test tracklets, %d frames -> %s", label, len(train_jobs), len(test_jobs),
             sum(map(len, names)), out)  # fmt: skip
    return out


def read_groups(root: str | Path) -> dict[int, dict]:
    """pid -> {split, kind, group, member, motion} from ``info/groups.json`` of a synthetic folder."""
    path = Path(root) / "info" / "groups.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a synthetic dataset folder (no groups.json)")
    return {int(pid): rec for pid, rec in json.loads(path.read_text())["pids"].items()}
