"""Procedural walking person: identity parameters and a renderer that draws one frame of one person.

Used by the synthetic dataset (``m3dreid.data.synthetic``) and usable by anyone who needs a person to put into a
scene, e.g. to test a detector/tracker on synthetic footage::

    from m3dreid.data.render import Identity, render_person
    crop, mask = render_person(identity, t=frame_index, height=80)   # (80, 40, 3) BGR uint8, (80, 40) uint8 0..255
    # alpha-blend into a scene at (x, y):
    region = scene[y : y + 80, x : x + 40]
    alpha = mask[..., None] / 255.0
    region[:] = (alpha * crop + (1 - alpha) * region).astype(np.uint8)

A person is seen from the side, walking right (``facing=-1`` mirrors him). Everything that changes over time is a
function of the frame index ``t``:

* gait: stride phase ``theta = phase + 2 pi t / period`` drives the legs (``leg_swing`` degrees), the arms (in
  anti-phase) and a vertical bounce; ``period == 0`` means standing still at pose ``phase``;
* rhythm: with ``half_period = h > 0`` the shirt shows ``flash`` instead of ``shirt`` on frames where
  ``(t // h) % 2 == 1`` (50 % duty whatever ``h``, so colour statistics over a tracklet do not depend on ``h``).

Every frame's pose depends on ``theta`` only, and ``theta`` is uniform over a tracklet with a random start, so a single
frame carries no information on the period: identities that differ only in ``period`` or ``half_period`` can only be
told apart from the order of frames.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Appearance", "Motion", "Identity", "render_person", "person_size"]

Color = tuple[int, int, int]  # BGR


@dataclass(frozen=True)
class Appearance:
    shirt: Color
    shirt2: Color  # second colour of the texture
    texture: str  # plain | stripes | checks | split
    pants: Color
    skin: Color
    hair: Color
    height_scale: float = 1.0  # body height / crop height (0.8 .. 1.0)
    build: float = 1.0  # torso width factor (0.8 .. 1.2)
    bag: Color | None = None  # a shoulder bag in this colour, or none


@dataclass(frozen=True)
class Motion:
    period: float = 8.0  # frames a stride cycle (0 = standing still)
    leg_swing: float = 32.0  # degrees each leg swings either side of vertical
    arm_swing: float = 28.0  # degrees, in anti-phase with the legs
    bounce: float = 0.03  # vertical bounce as a fraction of body height
    half_period: int = 0  # shirt flashes for half_period frames every 2*half_period frames (0 = never)
    flash: Color = (255, 255, 255)


@dataclass(frozen=True)
class Identity:
    appearance: Appearance
    motion: Motion


TEXTURES = ("plain", "stripes", "checks", "split")


def person_size(height: int) -> tuple[int, int]:
    """(height, width) of the crop ``render_person`` returns for ``height``."""
    return height, max(2, height // 2)


@functools.lru_cache(maxsize=256)
def _torso_texture(h: int, w: int, shirt: Color, shirt2: Color, texture: str) -> np.ndarray:
    """The shirt pattern (cached: a tracklet draws the same one every frame; callers only read it)."""
    patch = np.empty((h, w, 3), np.uint8)
    patch[:] = shirt
    step = max(2, h // 5)
    if texture == "stripes":
        rows = (np.arange(h) // step) % 2 == 1
        patch[rows] = shirt2
    elif texture == "checks":
        cells = ((np.arange(h)[:, None] // step) + (np.arange(w)[None, :] // step)) % 2 == 1
        patch[cells] = shirt2
    elif texture == "split":
        patch[h // 2 :] = shirt2
    elif texture != "plain":
        raise ValueError(f"unknown texture '{texture}' (known: {', '.join(TEXTURES)})")
    return patch


def render_person(
    identity: Identity, t: int, height: int, *, phase: float = 0.0, facing: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``identity`` at frame ``t`` into a ``(height, height // 2)`` crop; return (BGR uint8, mask uint8 0..255).

    ``phase`` (radians) is the stride phase at ``t = 0``; the rhythm uses ``t`` directly, so give each tracklet a
    random start ``t`` to randomise both.
    """
    app, mot = identity.appearance, identity.motion
    H, W = person_size(height)
    ss = 4  # draw at 4x and shrink with area averaging: smooth edges and a soft mask at any size
    Hs, Ws = H * ss, W * ss
    theta = phase + (2 * math.pi * t / mot.period if mot.period > 0 else 0.0)
    flash_on = mot.half_period > 0 and (t // mot.half_period) % 2 == 1
    shirt = mot.flash if flash_on else app.shirt
    shirt2 = mot.flash if flash_on else app.shirt2

    body = Hs * 0.96 * app.height_scale
    lift = mot.bounce * body * abs(math.cos(theta))  # highest when the legs pass each other
    foot_y = Hs * 0.98 - lift
    leg = 0.46 * body
    hip_y, cx = foot_y - leg, Ws / 2
    shoulder_y = hip_y - 0.30 * body
    head_r = 0.075 * body
    head_y = shoulder_y - 0.02 * body - head_r
    torso_w = 0.30 * body * app.build / 2
    limb = max(ss, int(0.085 * body))
    arm = max(ss, int(0.065 * body))

    img = np.zeros((Hs, Ws, 3), np.uint8)
    mask = np.zeros((Hs, Ws), np.uint8)

    def line(p0, p1, color, width):
        a = (int(round(p0[0])), int(round(p0[1])))
        b = (int(round(p1[0])), int(round(p1[1])))
        cv2.line(img, a, b, color, width, cv2.LINE_8)
        cv2.line(mask, a, b, 255, width, cv2.LINE_8)

    def limb_end(x, y, length, angle_deg):
        a = math.radians(angle_deg)
        return x + length * math.sin(a), y + length * math.cos(a)

    swing = math.sin(theta)
    back_pants = tuple(int(c * 0.65) for c in app.pants)
    back_sleeve = tuple(int(c * 0.65) for c in shirt)
    # far limbs first (darker), then torso, then near limbs
    line((cx, hip_y), limb_end(cx, hip_y, leg, -mot.leg_swing * swing), back_pants, limb)
    line((cx, shoulder_y), limb_end(cx, shoulder_y, 0.32 * body, mot.arm_swing * swing), back_sleeve, arm)
    x0, x1 = int(round(cx - torso_w)), int(round(cx + torso_w))
    y0, y1 = int(round(shoulder_y)), int(round(hip_y + limb / 2))
    if x1 > x0 and y1 > y0:
        img[y0:y1, x0:x1] = _torso_texture(y1 - y0, x1 - x0, shirt, shirt2, app.texture)
        mask[y0:y1, x0:x1] = 255
    if app.bag is not None:
        bx0, by0 = int(round(cx - torso_w * 1.5)), int(round(hip_y - 0.08 * body))
        cv2.rectangle(img, (bx0, by0), (x0, int(round(hip_y + 0.06 * body))), app.bag, -1)
        cv2.rectangle(mask, (bx0, by0), (x0, int(round(hip_y + 0.06 * body))), 255, -1)
    line((cx, hip_y), limb_end(cx, hip_y, leg, mot.leg_swing * swing), app.pants, limb)
    line((cx, shoulder_y), limb_end(cx, shoulder_y, 0.32 * body, -mot.arm_swing * swing), shirt, arm)
    center = (int(round(cx)), int(round(head_y)))
    cv2.circle(img, center, int(round(head_r)), app.skin, -1, cv2.LINE_8)
    cv2.circle(mask, center, int(round(head_r)), 255, -1, cv2.LINE_8)
    cv2.ellipse(img, center, (int(round(head_r)),) * 2, 0, 180, 360, app.hair, -1, cv2.LINE_8)

    img = cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)  # (H, W, 3)
    mask = cv2.resize(mask, (W, H), interpolation=cv2.INTER_AREA)  # (H, W)
    if facing < 0:
        img, mask = img[:, ::-1].copy(), mask[:, ::-1].copy()
    # colours were drawn unblended; undo the dark fringe that area averaging against black left on the edges
    alpha = mask.astype(np.float32)[..., None] / 255.0
    img = np.clip(img / np.maximum(alpha, 1e-3), 0, 255).astype(np.uint8) * (mask[..., None] > 0)
    return img, mask
