"""Second synthetic family ("limbs"): articulated people, fixed cameras, identity groups of four, MARS layout.

Why a second family: a recipe tuned on one generator may fit that generator's quirks (family "walkers",
``m3dreid.data.synthetic``, scrolls its background with the walking speed, so the stride period also shows in the
background). This one is designed differently on purpose, and the recipe is checked on both:

* body: an articulated figure of rotated ellipses (torso, head, upper/lower arms and legs) with knee and elbow
  bends, drawn at 4x and shrunk (sub-pixel motion); looks differ in colours of shirt / sleeves / trousers / shoes,
  a belt, a hat, sleeve length, height and build (no shirt textures, no bag);
* motion: stride phase ``phi = phi0 + 2 pi t / period`` drives hip swing, knee bend (a half-wave) and arm swing;
  the arm raise rhythm lifts the near arm by ``smooth(max(0, sin(2 pi t / raise_period + psi)))`` - half of each
  cycle raised, whatever the period, so a frame's pose distribution is the same for every period;
* cameras: fixed (no scrolling), each with its own viewpoint (foreshortening of the limbs' sideways swing), person
  scale and position, a background of smoothed noise blobs and floor tiles, a directional light ramp, a strong
  colour cast, gamma, noise and JPEG quality. The crop drifts slowly over the background at a per-tracklet random
  speed, independent of the identity, so background motion tells nothing about the person.

Identity groups (``members`` = 4 identities each):

* ``motion`` (gait): same look, different stride period (``GAIT_PERIODS``); only frame order tells them apart;
* ``rhythm`` (action): same look and gait, different arm-raise period (``RAISE_PERIODS``, 12-34 frames: longer
  than a training clip of 8);
* ``appearance``: different looks, the same motion.

Camera bias: all members of a group are seen by the same cameras, and cameras differ strongly in light and colour,
so for an appearance-only model a look-alike in the query's camera is closer than the true match in another one.
Every tracklet starts at a random stride and raise phase. ``info/groups.json`` has the same schema as the walkers
family (pid -> split, kind, group, member, motion), so evaluation's per-group scores work on both.

Determinism: every tracklet draws from ``np.random.default_rng((FAMILY_CODE, seed, split, pid, cam, k))``; the
same seed gives byte-identical files, with any number of worker processes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from m3dreid.data.synthetic import KINDS, SPLIT_CODE, write_mars_layout

__all__ = ["LIMB_SIZES", "LimbSize", "LimbLook", "LimbMotion", "LimbCamera", "make_limbs", "draw_limb_person"]

log = logging.getLogger(__name__)

FAMILY_CODE = 7  # first element of every RNG key: no stream is shared with the walkers family
GAIT_PERIODS = (6.0, 8.5, 12.0, 17.0)  # motion groups: stride periods, ratio ~sqrt(2)
BASE_GAIT = 10.0  # rhythm and appearance groups
RAISE_PERIODS = (12.0, 17.0, 24.0, 34.0)  # rhythm groups: arm-raise periods (frames), all longer than 8
BGR = tuple[int, int, int]


@dataclass(frozen=True)
class LimbSize:
    train_units: int  # units of one group per kind in the train split
    test_units: int
    members: int  # identities a group (<= 4)
    cameras: int
    cams_per_group: int  # every member of a group is seen by the same this-many cameras
    tracklets_per_cam: int
    frames: tuple[int, int]  # tracklet length (inclusive range)
    height: int
    width: int
    distractors: int
    junk: int


LIMB_SIZES = {
    "tiny": LimbSize(1, 1, 4, 2, 2, 1, (16, 20), 64, 32, 2, 1),
    "small": LimbSize(4, 4, 4, 3, 2, 2, (24, 40), 64, 32, 8, 4),
    "full": LimbSize(12, 12, 4, 6, 3, 2, (32, 96), 128, 64, 100, 40),
}


@dataclass(frozen=True)
class LimbLook:
    shirt: BGR
    sleeve: BGR  # = shirt for long sleeves; skin colour for short ones
    trousers: BGR
    shoes: BGR
    skin: BGR
    hat: BGR | None
    belt: BGR | None
    height: float  # fraction of the frame height the person fills at camera scale 1
    build: float  # torso width factor


@dataclass(frozen=True)
class LimbMotion:
    period: float = BASE_GAIT  # frames a stride cycle
    hip: float = 30.0  # degrees of hip swing either side
    knee: float = 45.0  # degrees of knee bend at its peak
    arm: float = 25.0  # degrees of arm swing either side
    raise_period: float = 0.0  # frames an arm-raise cycle (0 = never raises)
    raise_angle: float = 150.0  # degrees the near arm lifts at the top of a raise


@dataclass(frozen=True)
class LimbCamera:
    background: np.ndarray  # (H, 3W, 3) float32, the crop window drifts over its middle
    view: float  # 1 = side view; smaller = more frontal (sideways limb motion foreshortened)
    scale: float
    y_offset: float  # person's foot above the bottom edge, fraction of H
    light: np.ndarray  # (H, W, 1) float32 multiplicative light ramp
    cast: tuple[float, float, float]  # BGR gains
    gamma: float
    noise: float
    quality: int  # JPEG quality


def _bgr(rng: np.random.Generator, hue: float | None = None, sat=(0.4, 1.0), val=(0.3, 0.95)) -> BGR:
    h = rng.uniform(0, 180) if hue is None else hue % 180
    hsv = np.array([[[h, rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]], np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _look(rng: np.random.Generator, hue: float) -> LimbLook:
    skin = _bgr(rng, rng.uniform(8, 22), sat=(0.25, 0.6), val=(0.45, 0.9))
    shirt = _bgr(rng, hue)
    return LimbLook(
        shirt=shirt,
        sleeve=shirt if rng.random() < 0.5 else skin,
        trousers=_bgr(rng, rng.uniform(0, 180), sat=(0.0, 0.7), val=(0.1, 0.7)),
        shoes=_bgr(rng, rng.uniform(0, 180), sat=(0.0, 0.5), val=(0.05, 0.9)),
        skin=skin,
        hat=_bgr(rng, hue + 45) if rng.random() < 0.3 else None,
        belt=_bgr(rng, hue + 90, val=(0.1, 0.6)) if rng.random() < 0.4 else None,
        height=float(rng.uniform(0.8, 0.97)),
        build=float(rng.uniform(0.8, 1.25)),
    )


def _camera(seed: int, cam: int, height: int, width: int) -> LimbCamera:
    rng = np.random.default_rng((FAMILY_CODE, seed, 0, cam))
    H, W2 = height, 3 * width
    bg = np.empty((H, W2, 3), np.float32)
    top, bottom = rng.uniform(70, 190) + rng.uniform(-20, 20, 3), rng.uniform(70, 190) + rng.uniform(-20, 20, 3)
    bg[:] = top + (bottom - top) * np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    blobs = rng.normal(0, 1, (max(2, H // 8), max(2, W2 // 8), 3)).astype(np.float32)
    bg += cv2.resize(blobs, (W2, H), interpolation=cv2.INTER_CUBIC) * rng.uniform(10, 35)
    floor = int(H * rng.uniform(0.55, 0.85))
    tile = max(2, int(W2 / rng.integers(3, 9)))
    checker = ((np.arange(W2)[None, :] // tile + np.arange(H - floor)[:, None] // max(2, tile // 2)) % 2)[..., None]
    bg[floor:] = rng.uniform(50, 170) + rng.uniform(-15, 15, 3) + checker * rng.uniform(-30, 30, 3)
    ramp_dir = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:H, 0:width].astype(np.float32)
    proj = (xx / width - 0.5) * math.cos(ramp_dir) + (yy / H - 0.5) * math.sin(ramp_dir)
    light = (1.0 + rng.uniform(0.1, 0.35) * proj)[..., None].astype(np.float32)
    cast = rng.uniform(0.85, 1.15, 3)
    return LimbCamera(
        background=np.clip(bg, 0, 255),
        view=float(rng.uniform(0.55, 1.0)),
        scale=float(rng.uniform(0.7, 1.0)),
        y_offset=float(rng.uniform(0.0, 0.06)),
        light=light,
        cast=tuple(float(c) for c in cast / cast.mean() * rng.uniform(0.85, 1.15)),
        gamma=float(rng.uniform(0.85, 1.2)),
        noise=float(rng.uniform(1.0, 4.0)),
        quality=int(rng.integers(75, 96)),
    )


def _ellipse(img: np.ndarray, mask: np.ndarray, p0, p1, width: float, color: BGR) -> None:
    """A limb from p0 to p1 as a filled ellipse of the given width (pixels of the supersampled canvas)."""
    cx, cy = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    angle = math.degrees(math.atan2(p1[1] - p0[1], p1[0] - p0[0]))
    axes = (max(1, int(round(length / 2 + width / 2))), max(1, int(round(width / 2))))
    center = (int(round(cx)), int(round(cy)))
    cv2.ellipse(img, center, axes, angle, 0, 360, color, -1, cv2.LINE_8)
    cv2.ellipse(mask, center, axes, angle, 0, 360, 255, -1, cv2.LINE_8)


def draw_limb_person(
    look: LimbLook, motion: LimbMotion, t: float, *, height: int, width: int, view: float, phase: float, psi: float
) -> tuple[np.ndarray, np.ndarray]:
    """The figure at frame ``t`` on a ``(height, width)`` canvas: (BGR uint8, mask uint8), feet at the bottom.

    ``phase`` is the stride phase and ``psi`` the arm-raise phase at ``t = 0`` (radians).
    """
    ss = 4
    Hs, Ws = height * ss, width * ss
    img = np.zeros((Hs, Ws, 3), np.uint8)
    mask = np.zeros((Hs, Ws), np.uint8)
    body = Hs * 0.97
    phi = phase + 2 * math.pi * t / motion.period
    foot_y = Hs * 0.99 - body * 0.02 * abs(math.sin(phi))
    thigh = shin = 0.245 * body
    hip = (Ws / 2, foot_y - thigh - shin + body * 0.01)
    neck = (Ws / 2 + 0.02 * body * view, hip[1] - 0.30 * body)
    limb_w, arm_w = 0.075 * body, 0.055 * body
    upper, fore = 0.16 * body, 0.15 * body

    def end(p, length, deg):  # angle from straight down, positive = forward; sideways part foreshortened by view
        a = math.radians(deg)
        return p[0] + view * length * math.sin(a), p[1] + length * math.cos(a)

    raise_s = 0.0
    if motion.raise_period > 0:
        s = max(0.0, math.sin(2 * math.pi * t / motion.raise_period + psi))
        raise_s = s * s * (3 - 2 * s)  # smoothstep: holds near the top and bottom
    legs, arms = [], []
    for side, sign in ((-1, 1.0), (1, -1.0)):  # far side first (drawn darker)
        h_ang = sign * motion.hip * math.sin(phi)
        k_ang = motion.knee * max(0.0, math.sin(phi + (0 if sign > 0 else math.pi) + math.pi / 2))
        knee = end(hip, thigh, h_ang)
        legs.append((side, knee, end(knee, shin, h_ang - k_ang)))
        a_ang = -sign * motion.arm * math.sin(phi)
        if side == 1 and raise_s > 0:  # the near arm: swing fades out as it lifts
            a_ang = a_ang * (1 - raise_s) + motion.raise_angle * raise_s
        shoulder = (neck[0], neck[1] + 0.03 * body)
        elbow = end(shoulder, upper, a_ang)
        arms.append((side, shoulder, elbow, end(elbow, fore, a_ang + 20 + 30 * raise_s * (side == 1))))

    def shade(c: BGR, side: int) -> BGR:
        return c if side > 0 else tuple(int(v * 0.7) for v in c)

    for side, knee, foot in legs[:1]:
        _ellipse(img, mask, hip, knee, limb_w, shade(look.trousers, side))
        _ellipse(img, mask, knee, foot, limb_w * 0.9, shade(look.trousers, side))
        _ellipse(img, mask, foot, (foot[0] + 0.05 * body * view, foot[1]), limb_w * 0.6, shade(look.shoes, side))
    for side, shoulder, elbow, hand in arms[:1]:
        _ellipse(img, mask, shoulder, elbow, arm_w, shade(look.shirt, side))
        _ellipse(img, mask, elbow, hand, arm_w * 0.85, shade(look.sleeve, side))
    _ellipse(img, mask, neck, hip, 0.17 * body * look.build, look.shirt)
    if look.belt is not None:
        _ellipse(img, mask, (hip[0] - 0.06 * body, hip[1] - 0.02 * body), (hip[0] + 0.06 * body,
                 hip[1] - 0.02 * body), 0.025 * body, look.belt)  # fmt: skip
    for _side, knee, foot in legs[1:]:
        _ellipse(img, mask, hip, knee, limb_w, look.trousers)
        _ellipse(img, mask, knee, foot, limb_w * 0.9, look.trousers)
        _ellipse(img, mask, foot, (foot[0] + 0.05 * body * view, foot[1]), limb_w * 0.6, look.shoes)
    head = (int(round(neck[0])), int(round(neck[1] - 0.07 * body)))
    r = int(round(0.065 * body))
    cv2.circle(img, head, r, look.skin, -1, cv2.LINE_8)
    cv2.circle(mask, head, r, 255, -1, cv2.LINE_8)
    if look.hat is not None:
        cv2.ellipse(img, head, (r + 2, r), 0, 180, 360, look.hat, -1, cv2.LINE_8)
    for _side, shoulder, elbow, hand in arms[1:]:
        _ellipse(img, mask, shoulder, elbow, arm_w, look.shirt)
        _ellipse(img, mask, elbow, hand, arm_w * 0.85, look.sleeve)
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_AREA)
    alpha = mask.astype(np.float32)[..., None] / 255.0
    img = np.clip(img / np.maximum(alpha, 1e-3), 0, 255).astype(np.uint8) * (mask[..., None] > 0)
    return img, mask


def _render_frame(job: dict, camera: LimbCamera, t: int, i: int, state: dict, rng: np.random.Generator) -> np.ndarray:
    """Frame ``i`` of a tracklet, at time ``t`` of the identity's motion."""
    H, W = camera.light.shape[:2]
    bg = camera.background
    x = min(max(state["bg_x"] + state["drift"] * i, 0.0), bg.shape[1] - W - 1.0)  # sub-pixel drift, in bounds
    x0, frac = int(math.floor(x)), x - math.floor(x)
    frame = (1 - frac) * bg[:, x0 : x0 + W] + frac * bg[:, x0 + 1 : x0 + W + 1]  # (H, W, 3)
    ph = max(8, int(round(H * camera.scale * job["look"].height)))
    pw = min(W, max(4, ph // 2))
    crop, mask = draw_limb_person(job["look"], job["motion"], t, height=ph, width=pw, view=camera.view,
                                  phase=state["phase"], psi=state["psi"])  # fmt: skip
    if state["facing"] < 0:
        crop, mask = crop[:, ::-1], mask[:, ::-1]
    px = (W - pw) // 2 + state["dx"]
    py = H - ph - int(round(camera.y_offset * H))
    fy0, fx0, fy1, fx1 = max(0, py), max(0, px), min(H, py + ph), min(W, px + pw)
    if fy1 > fy0 and fx1 > fx0:
        c = crop[fy0 - py : fy1 - py, fx0 - px : fx1 - px].astype(np.float32)
        a = mask[fy0 - py : fy1 - py, fx0 - px : fx1 - px, None].astype(np.float32) / 255.0
        frame[fy0:fy1, fx0:fx1] = a * c + (1 - a) * frame[fy0:fy1, fx0:fx1]
    frame = frame * camera.light * np.asarray(camera.cast, np.float32)
    frame = 255.0 * (np.clip(frame, 0, 255) / 255.0) ** camera.gamma
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(camera.noise)
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def _write_tracklet(job: dict) -> list[str]:
    key = (FAMILY_CODE, job["seed"], SPLIT_CODE[job["split"]], job["pid"] + 10, job["cam"], job["k"])
    rng = np.random.default_rng(key)
    camera: LimbCamera = job["camera"]
    H = camera.light.shape[0]
    state = {
        "phase": float(rng.uniform(0, 2 * math.pi)),
        "psi": float(rng.uniform(0, 2 * math.pi)),
        "facing": int(rng.choice([-1, 1])),
        "bg_x": float(rng.uniform(0.5, 1.5) * camera.light.shape[1]),
        "drift": float(rng.uniform(-0.3, 0.3)),
        "dx": int(rng.integers(-H // 32, H // 32 + 1)),
    }
    if job["pid"] == -1:  # junk: a box off the person
        state["dx"] = int(rng.choice([-1, 1])) * camera.light.shape[1] // 2
    n = int(rng.integers(job["frames"][0], job["frames"][1] + 1))
    t0 = int(rng.integers(0, 1000))
    prefix = f"{str(job['pid']).rjust(4, '0')}C{job['cam'] + 1}T{job['tracklet']:04d}"
    folder = Path(job["folder"])
    names = []
    for i in range(n):
        img = _render_frame(job, camera, t0 + i, i, state, rng)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, camera.quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {prefix}")
        name = f"{prefix}F{i + 1:03d}.jpg"
        (folder / name).write_bytes(buf.tobytes())
        names.append(name)
    return names


def _identities(seed: int, split: str, units: int, members: int, first_pid: int) -> list[dict]:
    rng = np.random.default_rng((FAMILY_CODE, seed, SPLIT_CODE[split], 0))
    n = units * len(KINDS)
    hues = (rng.permutation(n) + rng.uniform(0, 1)) * 180.0 / n
    out, pid = [], first_pid
    for g in range(n):
        kind = KINDS[g % len(KINDS)]
        look = _look(rng, hues[g])
        for m in range(members):
            if kind == "motion":
                motion = LimbMotion(period=GAIT_PERIODS[m])
            elif kind == "rhythm":
                motion = LimbMotion(raise_period=RAISE_PERIODS[m])
            else:
                motion = LimbMotion()
            member_look = _look(rng, hues[g] + 45 * m) if kind == "appearance" else look
            out.append({"pid": pid, "kind": kind, "group": g, "member": m, "look": member_look, "motion": motion})
            pid += 1
    return out


def _plan(size: LimbSize, seed: int) -> tuple[list[dict], list[dict]]:
    train = _identities(seed, "train", size.train_units, size.members, 1)
    test = _identities(seed, "test", size.test_units, size.members, len(train) + 1)
    jobs: dict[str, list[dict]] = {"train": [], "test": []}
    for split, ids in (("train", train), ("test", test)):
        group_cams: dict[int, list[int]] = {}
        for rec in ids:
            if rec["group"] not in group_cams:
                rng = np.random.default_rng((FAMILY_CODE, seed, SPLIT_CODE[split], 1, rec["group"]))
                group_cams[rec["group"]] = sorted(int(c) for c in rng.choice(size.cameras, size.cams_per_group, False))
            tracklet = 0
            for cam in group_cams[rec["group"]]:
                for k in range(size.tracklets_per_cam):
                    tracklet += 1
                    jobs[split].append({**rec, "split": split, "cam": cam, "k": k, "tracklet": tracklet})
    rng = np.random.default_rng((FAMILY_CODE, seed, 3))
    extra = []
    for pid, count in ((-1, size.junk), (0, size.distractors)):
        for i in range(count):
            motion = LimbMotion(period=float(rng.choice(GAIT_PERIODS)), raise_period=float(rng.choice((0.0, 20.0))))
            extra.append({"pid": pid, "kind": "junk" if pid < 0 else "distractor", "group": -1, "member": -1,
                          "look": _look(rng, rng.uniform(0, 180)), "motion": motion, "split": "test",
                          "cam": int(rng.integers(size.cameras)), "k": i, "tracklet": i + 1})  # fmt: skip
    jobs["test"] = sorted(extra, key=lambda j: (j["pid"], j["cam"], j["tracklet"])) + jobs["test"]
    return jobs["train"], jobs["test"]


def make_limbs(
    out: str | Path, *, size: str = "small", seed: int = 0, workers: int = 1, overwrite: bool = False
) -> Path:
    """Write the limbs family's dataset of ``size`` (tiny | small | full) to ``out`` in the MARS layout."""
    if size not in LIMB_SIZES:
        raise ValueError(f"unknown limbs size '{size}' (known: {', '.join(LIMB_SIZES)})")
    spec = LIMB_SIZES[size]
    from m3dreid.errors import prepare_output

    out = prepare_output(out, overwrite=overwrite, owned=("bbox_train", "bbox_test", "info"))
    cameras = [_camera(seed, c, spec.height, spec.width) for c in range(spec.cameras)]
    train_jobs, test_jobs = _plan(spec, seed)
    meta = {"family": "limbs", "size": size, "seed": seed, "spec": asdict(spec)}
    return write_mars_layout(out, train_jobs, test_jobs, cameras=cameras, seed=seed, frames=spec.frames,
                             workers=workers, write_tracklet=_write_tracklet, motion_of=lambda job: job["motion"],
                             meta=meta, label=f"limbs {size}")  # fmt: skip
