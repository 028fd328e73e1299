"""Procedural people for pretraining a re-id network that is used on real footage (the RandPerson idea).

RandPerson (Wang et al., ACM MM 2020) showed that a re-id network trained only on many randomly dressed synthetic
people transfers to real cameras, because what it learns to ignore (viewpoint, light, background, blur, occlusion)
is varied widely while what it must keep (the outfit and the body) is varied across thousands of identities. This
module is a 2-D, CPU-fast version of that idea; nothing in it is taken from real footage.

An identity (:class:`Person`) is an outfit (top colour and pattern, sleeves, trousers / shorts / skirt, shoes, hair
or hat, bag or backpack), a body (height, build, leg length, head size) and a gait (stride period and swing). A
tracklet is that person seen by one camera: a viewpoint (side walking left or right, front, back), a procedural
background scrolling with the walk, a detector-like box (scale and offset jitter), the camera's light (gain, colour
cast, gamma, a shadow gradient), blur, noise, a resolution loss, JPEG artefacts and, sometimes, a partial occluder
(a post, a car bonnet, another person's edge).

:func:`make_people` writes a dataset in the MARS layout (read by the ``synthetic`` dataset reader), train and test
splits with disjoint identities. Determinism: every draw comes from ``np.random.default_rng`` keyed by (seed, split,
pid, camera, ...), so the same arguments give byte-identical files whatever the number of worker processes.
"""

from __future__ import annotations

import json
import logging
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = ["Person", "random_person", "render_person_view", "render_tracklet", "make_people", "VIEWS"]

log = logging.getLogger(__name__)

Color = tuple[int, int, int]  # BGR
VIEWS = ("side", "front", "back")
PATTERNS = ("plain", "plain", "stripes", "vstripes", "checks", "split", "jacket", "logo", "noise", "dots")
BOTTOMS = ("trousers", "trousers", "trousers", "shorts", "skirt")
HEADWEAR = ("short", "short", "long", "bald", "hat")
BAGS = ("none", "none", "none", "backpack", "shoulder", "hand")
SPLIT_CODE = {"train": 1, "test": 2}


@dataclass(frozen=True)
class Person:
    top: Color
    top2: Color  # second colour of the pattern / jacket inside
    pattern: str
    long_sleeves: bool
    bottom: Color
    bottom_kind: str
    shoes: Color
    skin: Color
    hair: Color
    headwear: str
    bag: str
    bag_color: Color
    height: float  # body height / box height (0.85 .. 1)
    build: float  # torso width factor (0.75 .. 1.3)
    legs: float  # leg length / body height (0.42 .. 0.52)
    head: float  # head radius / body height (0.055 .. 0.075)
    period: float  # frames a stride cycle
    swing: float  # leg swing, degrees


def _colour(rng: np.random.Generator) -> Color:
    """A clothing colour: mostly dark / grey / muted, as on a street, sometimes saturated."""
    r = rng.random()
    if r < 0.4:  # achromatic: black, grey, white
        hsv = (rng.uniform(0, 180), rng.uniform(0, 0.12), rng.choice([rng.uniform(0.05, 0.3), rng.uniform(0.3, 1.0)]))
    elif r < 0.7:  # muted: navy, denim, beige, olive, brown
        hsv = (rng.uniform(0, 180), rng.uniform(0.15, 0.5), rng.uniform(0.15, 0.8))
    else:
        hsv = (rng.uniform(0, 180), rng.uniform(0.5, 1.0), rng.uniform(0.3, 1.0))
    pixel = np.array([[[hsv[0], hsv[1] * 255, hsv[2] * 255]]], np.float32).astype(np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0])


def _skin(rng: np.random.Generator) -> Color:
    pixel = np.array([[[rng.uniform(5, 20), rng.uniform(0.25, 0.6) * 255, rng.uniform(0.3, 0.95) * 255]]], np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0])


def random_person(rng: np.random.Generator) -> Person:
    hair_pixel = np.array([[[rng.uniform(0, 30), rng.uniform(0.1, 0.7) * 255, rng.uniform(0.05, 0.6) * 255]]])
    hair = tuple(int(c) for c in cv2.cvtColor(hair_pixel.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0])
    headwear = str(rng.choice(HEADWEAR))
    return Person(
        top=_colour(rng),
        top2=_colour(rng),
        pattern=str(rng.choice(PATTERNS)),
        long_sleeves=bool(rng.random() < 0.7),
        bottom=_colour(rng),
        bottom_kind=str(rng.choice(BOTTOMS)),
        shoes=_colour(rng) if rng.random() < 0.4 else (30, 30, 30),
        skin=_skin(rng),
        hair=_colour(rng) if headwear == "hat" else hair,
        headwear=headwear,
        bag=str(rng.choice(BAGS)),
        bag_color=_colour(rng),
        height=float(rng.uniform(0.85, 1.0)),
        build=float(rng.uniform(0.75, 1.3)),
        legs=float(rng.uniform(0.42, 0.52)),
        head=float(rng.uniform(0.055, 0.075)),
        period=float(rng.uniform(7, 14)),
        swing=float(rng.uniform(18, 38)),
    )


def _pattern(h: int, w: int, p: Person, seed: int) -> np.ndarray:
    """The top's texture, ``(h, w, 3)`` uint8 (``seed`` fixes the random patterns of one person)."""
    img = np.empty((max(h, 1), max(w, 1), 3), np.uint8)
    img[:] = p.top
    h, w = img.shape[:2]
    step = max(2, h // 6)
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    if p.pattern == "stripes":
        img[((rows // step) % 2 == 1).repeat(w, 1)] = p.top2
    elif p.pattern == "vstripes":
        img[((cols // step) % 2 == 1).repeat(h, 0)] = p.top2
    elif p.pattern == "checks":
        img[((rows // step + cols // step) % 2 == 1)] = p.top2
    elif p.pattern == "split":
        img[h // 2 :] = p.top2
    elif p.pattern == "jacket":  # open jacket: the shirt shows in a band down the middle
        img[:, int(w * 0.38) : int(math.ceil(w * 0.62))] = p.top2
    elif p.pattern == "logo":
        img[int(h * 0.2) : int(h * 0.45), int(w * 0.3) : int(w * 0.7)] = p.top2
    elif p.pattern in ("noise", "dots"):
        rng = np.random.default_rng(seed)
        if p.pattern == "noise":
            field = cv2.GaussianBlur(rng.random((h, w), dtype=np.float32), (0, 0), max(1.0, h / 12))
            mix = (field > np.median(field))[..., None]
        else:
            mix = (rng.random((h, w)) < 0.12)[..., None]
            mix = cv2.dilate(mix.astype(np.uint8), np.ones((max(1, h // 20),) * 2, np.uint8))[..., None] > 0
        img = np.where(mix, np.array(p.top2, np.uint8), img)
    return img


def render_person_view(
    p: Person, t: float, height: int, *, view: str, facing: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``p`` at time ``t`` (frames) in a ``(height, height // 2)`` box; return (BGR uint8, mask uint8 0..255).

    ``view`` is ``side`` (walking right, ``facing=-1`` walks left), ``front`` or ``back``.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view '{view}' (known: {', '.join(VIEWS)})")
    ss = 3  # draw at 3x, shrink with area averaging: soft edges at any size
    H, W = height * ss, max(2, height // 2) * ss
    img = np.zeros((H, W, 3), np.uint8)
    mask = np.zeros((H, W), np.uint8)
    theta = 2 * math.pi * t / p.period
    body = H * 0.97 * p.height
    foot = H * 0.985 - 0.02 * body * abs(math.cos(theta))
    leg = p.legs * body
    hip, cx = foot - leg, W / 2
    shoulder = hip - 0.30 * body
    head_r = p.head * body
    head_y = shoulder - 0.015 * body - head_r
    side = view == "side"
    torso_half = (0.16 if side else 0.21) * body * p.build / 2 * 2 / 2 * (1.0 if side else 1.0)
    limb = max(ss, int(0.085 * body))
    arm = max(ss, int(0.06 * body))
    shade = 0.7

    def dark(c: Color) -> Color:
        return tuple(int(v * shade) for v in c)

    def line(a, b, colour, width):
        a = (int(round(a[0])), int(round(a[1])))
        b = (int(round(b[0])), int(round(b[1])))
        cv2.line(img, a, b, colour, int(width), cv2.LINE_8)
        cv2.line(mask, a, b, 255, int(width), cv2.LINE_8)

    def end(x, y, length, deg):
        r = math.radians(deg)
        return x + length * math.sin(r), y + length * math.cos(r)

    def leg_at(x, deg, colour):
        knee = end(x, hip, leg * 0.5, deg)
        ankle = end(*knee, leg * 0.47, deg * 0.6)
        lower = colour if p.bottom_kind == "trousers" else p.skin
        line((x, hip), knee, colour, limb)
        line(knee, ankle, lower, limb * 0.9)
        toe = (ankle[0] + (limb * 0.9 * (1 if side else 0)), ankle[1])
        line(ankle, toe, p.shoes, limb * 0.8)

    def arm_at(x, deg, colour):
        elbow = end(x, shoulder + arm / 2, 0.17 * body, deg)
        hand = end(*elbow, 0.15 * body, deg * 1.3)
        line((x, shoulder + arm / 2), elbow, colour, arm)
        line(elbow, hand, colour if p.long_sleeves else p.skin, arm * 0.9)
        cv2.circle(img, (int(hand[0]), int(hand[1])), int(arm * 0.55), p.skin, -1)
        return hand

    swing = math.sin(theta) * p.swing
    x0, x1 = int(round(cx - torso_half)), int(round(cx + torso_half))
    y0, y1 = int(round(shoulder)), int(round(hip + limb * 0.4))
    skirt = p.bottom_kind == "skirt"
    if side:
        leg_at(cx, -swing, dark(p.bottom))
        arm_at(cx, swing, dark(p.top))
        if p.bag == "backpack":
            bx = x0 - int(0.08 * body) if facing > 0 else x1
            cv2.rectangle(img, (bx, y0 + 2), (bx + int(0.08 * body), int(hip - 0.05 * body)), p.bag_color, -1)
            cv2.rectangle(mask, (bx, y0 + 2), (bx + int(0.08 * body), int(hip - 0.05 * body)), 255, -1)
    else:
        gap = torso_half * 0.45
        for k, sign in enumerate((-1, 1)):  # legs side by side; the swinging one is foreshortened
            lift = (0.5 + 0.5 * math.sin(theta + k * math.pi)) * p.swing / 40
            x = cx + sign * gap
            knee = (x, hip + leg * 0.5 * (1 - 0.15 * lift))
            ankle = (x, foot - 0.03 * body * lift)
            line((x, hip), knee, p.bottom, limb)
            line(knee, ankle, p.bottom if p.bottom_kind == "trousers" else p.skin, limb * 0.9)
            line(ankle, (ankle[0], ankle[1] + 1), p.shoes, limb * 0.9)
    if skirt:
        pts = np.array([[x0, int(hip - 0.02 * body)], [x1, int(hip - 0.02 * body)],
                        [int(cx + torso_half * 1.5), int(hip + 0.2 * body)],
                        [int(cx - torso_half * 1.5), int(hip + 0.2 * body)]], np.int32)  # fmt: skip
        cv2.fillConvexPoly(img, pts, p.bottom)
        cv2.fillConvexPoly(mask, pts, 255)
    elif not side:  # hips / shorts top
        cv2.rectangle(img, (x0, int(hip - 0.03 * body)), (x1, int(hip + 0.06 * body)), p.bottom, -1)
        cv2.rectangle(mask, (x0, int(hip - 0.03 * body)), (x1, int(hip + 0.06 * body)), 255, -1)
    if x1 > x0 and y1 > y0:
        texture = _pattern(y1 - y0, x1 - x0, p, seed)
        if view == "back" and p.pattern in ("jacket", "logo"):
            texture[:] = p.top  # those show only from the front
        img[y0:y1, x0:x1] = texture
        mask[y0:y1, x0:x1] = 255
    if view == "back" and p.bag == "backpack":
        bw, bh = int(torso_half * 1.4), int(0.2 * body)
        cv2.rectangle(img, (int(cx - bw / 2), y0 + 3), (int(cx + bw / 2), y0 + 3 + bh), p.bag_color, -1)
    if side:
        leg_at(cx, swing, p.bottom)
        hand = arm_at(cx, -swing, p.top)
    else:
        for sign in (-1, 1):
            hand = arm_at(cx + sign * (torso_half + arm * 0.4), sign * 6 + 4 * math.sin(theta) * sign, p.top)
    if p.bag == "shoulder":
        bx = int(cx + (torso_half if not side else -torso_half) * (1 if facing > 0 else -1))
        top_y = int(hip - 0.1 * body)
        cv2.rectangle(img, (bx - int(0.05 * body), top_y), (bx + int(0.05 * body), top_y + int(0.11 * body)),
                      p.bag_color, -1)  # fmt: skip
        cv2.rectangle(mask, (bx - int(0.05 * body), top_y), (bx + int(0.05 * body), top_y + int(0.11 * body)),
                      255, -1)  # fmt: skip
        cv2.line(img, (bx, top_y), (int(cx), y0), p.bag_color, max(1, ss))
    elif p.bag == "hand":
        hx, hy = int(hand[0]), int(hand[1])
        cv2.rectangle(img, (hx - int(0.04 * body), hy), (hx + int(0.04 * body), hy + int(0.1 * body)),
                      p.bag_color, -1)  # fmt: skip
        cv2.rectangle(mask, (hx - int(0.04 * body), hy), (hx + int(0.04 * body), hy + int(0.1 * body)), 255, -1)
    centre = (int(round(cx)), int(round(head_y)))
    r = int(round(head_r))
    cv2.circle(mask, centre, r, 255, -1)
    cv2.circle(img, centre, r, p.hair if view == "back" and p.headwear != "bald" else p.skin, -1)
    if p.headwear in ("short", "long", "hat") and view != "back":
        cv2.ellipse(img, centre, (r, r), 0, 180, 360, p.hair, -1)
    if p.headwear == "long":
        cv2.rectangle(img, (centre[0] - r, centre[1]), (centre[0] + r, centre[1] + int(1.4 * r)), p.hair, -1)
        cv2.rectangle(mask, (centre[0] - r, centre[1]), (centre[0] + r, centre[1] + int(1.4 * r)), 255, -1)
        if view != "back":
            cv2.circle(img, centre, int(r * 0.75), p.skin, -1)
    if p.headwear == "hat":
        cv2.rectangle(img, (centre[0] - int(1.2 * r), centre[1] - r), (centre[0] + int(1.2 * r), centre[1] - r // 3),
                      p.hair, -1)  # fmt: skip
    out_h, out_w = height, max(2, height // 2)
    img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (out_w, out_h), interpolation=cv2.INTER_AREA)
    if side and facing < 0:
        img, mask = img[:, ::-1].copy(), mask[:, ::-1].copy()
    alpha = mask.astype(np.float32)[..., None] / 255.0  # undo the dark fringe of area averaging against black
    img = (np.clip(img / np.maximum(alpha, 1e-3), 0, 255) * (mask[..., None] > 0)).astype(np.uint8)
    return img, mask


@dataclass(frozen=True)
class Camera:
    """One camera's look: background style, light, optics and which views it mostly sees."""

    seed: int
    gain: tuple[float, float, float]
    gamma: float
    blur: float  # Gaussian sigma as a fraction of the frame height
    noise: float
    jpeg: tuple[int, int]  # JPEG quality range
    views: tuple[float, float, float]  # probabilities of side / front / back
    lowres: float  # probability of a down-and-up resize (resolution loss)


def _camera(seed: int, cam: int) -> Camera:
    rng = np.random.default_rng((seed, 0, cam))
    views = rng.dirichlet((1.0, 1.0, 1.0))
    return Camera(
        seed=int(rng.integers(1 << 30)),
        gain=tuple(float(g) for g in rng.uniform(0.7, 1.25) * rng.uniform(0.85, 1.15, 3)),
        gamma=float(rng.uniform(0.75, 1.35)),
        blur=float(rng.choice([0.0, 0.005, 0.012])),
        noise=float(rng.uniform(1.0, 6.0)),
        jpeg=(int(rng.integers(35, 70)), 95),
        views=tuple(float(v) for v in views),
        lowres=float(rng.uniform(0.0, 0.6)),
    )


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A procedural street strip ``(height, width, 3)`` float32: facade panels, windows, ground, texture."""

    def muted(low: float, high: float) -> np.ndarray:  # streets are mostly grey, brown and green, some colour
        if rng.random() < 0.25:
            return rng.uniform(low, high, 3)
        return rng.uniform(low, high) + rng.normal(0, 12, 3)

    bg = np.empty((height, width, 3), np.float32)
    bg[:] = muted(40, 210)
    ground = int(height * rng.uniform(0.55, 0.85))
    bg[ground:] = muted(40, 170)
    for _ in range(int(rng.integers(4, 14))):
        x0, w = int(rng.integers(0, width)), int(rng.integers(max(1, height // 10), max(2, height // 2)))
        y0, h = int(rng.integers(0, ground)), int(rng.integers(max(1, height // 12), max(2, height // 2)))
        bg[y0 : min(ground, y0 + h), x0 : x0 + w] = muted(20, 240)
    if rng.random() < 0.5:  # ground texture: paving lines
        step = int(rng.integers(max(2, height // 16), max(3, height // 5)))
        bg[ground::step] *= rng.uniform(0.6, 0.9)
    bg += rng.normal(0, rng.uniform(2, 12), (height, width, 1)).astype(np.float32)
    return cv2.GaussianBlur(bg, (0, 0), float(rng.uniform(0.5, 2.0)))


def _paste(frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
    H, W = frame.shape[:2]
    h, w = mask.shape
    fx0, fy0, fx1, fy1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    a = mask[fy0 - y : fy1 - y, fx0 - x : fx1 - x, None].astype(np.float32) / 255.0
    c = crop[fy0 - y : fy1 - y, fx0 - x : fx1 - x].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = a * c + (1 - a) * frame[fy0:fy1, fx0:fx1]


def render_tracklet(
    person: Person, camera: Camera, *, frames: int, height: int, width: int, rng: np.random.Generator, seed: int = 0
) -> list[np.ndarray]:
    """``frames`` BGR uint8 crops ``(height, width, 3)`` of ``person`` walking past ``camera`` (see module doc)."""
    view = str(rng.choice(VIEWS, p=camera.views))
    facing = int(rng.choice([-1, 1]))
    scale = rng.uniform(0.8, 1.0)  # person height / box height: detector boxes are loose
    ph = max(8, int(round(height * scale)))
    dx, dy = int(rng.integers(-width // 8, width // 8 + 1)), int(rng.integers(0, max(1, height - ph) + 1))
    strip = _background(np.random.default_rng((camera.seed, int(rng.integers(1 << 30)))), height, width * 4)
    speed = (0.0 if view != "side" else 0.35 * height / person.period) * facing
    t0 = float(rng.uniform(0, person.period))
    light = rng.uniform(0.8, 1.2) * np.asarray(camera.gain, np.float32) * rng.uniform(0.95, 1.05, 3)
    shadow = None
    if rng.random() < 0.3:  # a shadow / light gradient across the box
        shadow = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), width, dtype=np.float32)[None, :, None]
    occluder = None
    r = rng.random()
    if r < 0.12:
        x0 = rng.uniform(-0.1, 0.8)
        occluder = ("post", (x0, 0.0, x0 + rng.uniform(0.1, 0.3), 1.0), _colour(rng))
    elif r < 0.24:
        occluder = ("low", (0.0, rng.uniform(0.7, 0.9), 1.0, 1.0), _colour(rng))
    elif r < 0.36:
        occluder = ("person", random_person(rng), int(rng.choice([-1, 1])))
    lowres = rng.random() < camera.lowres
    quality = int(rng.integers(camera.jpeg[0], camera.jpeg[1] + 1))
    out = []
    bg_x = int(rng.integers(0, width * 3))
    for i in range(frames):
        x_bg = int(round(bg_x + speed * i)) % (width * 3)
        frame = strip[:, x_bg : x_bg + width].copy()
        crop, mask = render_person_view(person, t0 + i, ph, view=view, facing=facing, seed=seed)
        jx = int(rng.integers(-1, 2)) if rng.random() < 0.3 else 0
        _paste(frame, crop, mask, (width - crop.shape[1]) // 2 + dx + jx, dy)
        if occluder is not None:
            if occluder[0] == "person":
                o_crop, o_mask = render_person_view(occluder[1], t0 + i, height, view="side", facing=occluder[2])
                _paste(frame, o_crop, o_mask, int(occluder[2] * -0.6 * width), 0)
            else:
                (a, b, c, d), colour = occluder[1], occluder[2]
                frame[int(b * height) : int(math.ceil(d * height)), max(0, int(a * width)) : int(c * width)] = colour
        frame = frame * light
        if shadow is not None:
            frame = frame * shadow
        frame = 255.0 * (np.clip(frame, 0, 255) / 255.0) ** camera.gamma
        if camera.blur > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), camera.blur * height)
        if lowres:
            small = cv2.resize(frame, (max(4, width // 2), max(8, height // 2)), interpolation=cv2.INTER_AREA)
            frame = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(camera.noise)
        frame = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    return out


def _write_tracklet(job: dict) -> list[str]:
    rng = np.random.default_rng((job["seed"], SPLIT_CODE[job["split"]], job["pid"], job["cam"], job["k"]))
    n = int(rng.integers(job["frames"][0], job["frames"][1] + 1))
    crops = render_tracklet(job["person"], job["camera"], frames=n, height=job["height"], width=job["width"],
                            rng=rng, seed=job["pid"])  # fmt: skip
    prefix = f"{str(job['pid']).rjust(4, '0')}C{job['cam'] + 1}T{job['tracklet']:04d}"
    names = []
    for i, img in enumerate(crops):
        name = f"{prefix}F{i + 1:03d}.jpg"
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {prefix}")
        (Path(job["folder"]) / name).write_bytes(buf.tobytes())
        names.append(name)
    return names


def make_people(
    out: str | Path,
    *,
    train_ids: int = 2000,
    test_ids: int = 200,
    cameras: int = 6,
    cams_per_id: tuple[int, int] = (2, 3),
    frames: tuple[int, int] = (8, 12),
    height: int = 64,
    width: int = 32,
    seed: int = 0,
    workers: int = 1,
) -> Path:
    """Write a procedural-people dataset in the MARS layout to ``out`` (train / test identities disjoint)."""
    from m3dreid.data.synthetic import _savemat
    from m3dreid.errors import prepare_output

    out = prepare_output(out)  # an empty or missing folder (the command line offers --overwrite)
    if cameras < cams_per_id[1] or cams_per_id[0] < 2:
        raise ValueError(f"make_people: need 2 <= cams_per_id <= cameras, got {cams_per_id} and {cameras} cameras")
    cams = [_camera(seed, c) for c in range(cameras)]
    jobs: dict[str, list[dict]] = {"train": [], "test": []}
    pid = 1
    for split, count in (("train", train_ids), ("test", test_ids)):
        for _ in range(count):
            rng = np.random.default_rng((seed, SPLIT_CODE[split], pid, 99))
            person = random_person(rng)
            seen = sorted(rng.choice(cameras, int(rng.integers(cams_per_id[0], cams_per_id[1] + 1)), replace=False))
            folder = out / f"bbox_{split}" / str(pid).rjust(4, "0")
            folder.mkdir(parents=True, exist_ok=True)
            for k, cam in enumerate(seen):
                jobs[split].append({"pid": pid, "split": split, "cam": int(cam), "k": k, "tracklet": k + 1,
                                    "person": person, "camera": cams[int(cam)], "seed": seed, "frames": frames,
                                    "height": height, "width": width, "folder": str(folder)})  # fmt: skip
            pid += 1
    all_jobs = jobs["train"] + jobs["test"]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            names = list(pool.map(_write_tracklet, all_jobs, chunksize=16))
    else:
        names = [_write_tracklet(job) for job in all_jobs]
    (out / "info").mkdir(parents=True, exist_ok=True)
    split_names = {"train": names[: len(jobs["train"])], "test": names[len(jobs["train"]) :]}
    for split in ("train", "test"):
        flat, rows, start = [], [], 1
        for job, frame_names in zip(jobs[split], split_names[split], strict=True):
            flat.extend(frame_names)
            rows.append([start, start + len(frame_names) - 1, job["pid"], job["cam"] + 1])
            start += len(frame_names)
        (out / "info" / f"{split}_name.txt").write_bytes("".join(f"{n}\r\n" for n in flat).encode("ascii"))
        _savemat(out / "info" / f"tracks_{split}_info.mat", f"track_{split}_info", np.asarray(rows, np.int32))
    seen_pid, query = set(), []  # queries: each test identity's first tracklet (its other cameras are the gallery)
    for row, job in enumerate(jobs["test"], start=1):
        if job["pid"] not in seen_pid:
            seen_pid.add(job["pid"])
            query.append(row)
    _savemat(out / "info" / "query_IDX.mat", "query_IDX", np.asarray([query], np.uint32))
    groups = {str(j["pid"]): {"split": j["split"], "kind": "appearance", "group": j["pid"], "member": 0,
                              "person": asdict(j["person"])} for j in all_jobs}  # fmt: skip
    meta = {"generator": "m3dreid.data.people", "seed": seed, "cameras": cameras, "height": height, "width": width,
            "train_ids": train_ids, "test_ids": test_ids, "pids": groups}  # fmt: skip
    (out / "info" / "groups.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    log.info("people: %d train + %d test tracklets, %d frames -> %s", len(jobs["train"]), len(jobs["test"]),
             sum(map(len, names)), out)  # fmt: skip
    return out
