"""The walkers of the tracker tests' street scene: four procedural people crossing each other. The scene renderer
itself is :func:`m3dreid.video.scene.render_scene` (re-exported here for the tests' imports)."""

from __future__ import annotations

from m3dreid.data.render import Appearance, Identity, Motion
from m3dreid.video.scene import Walker, render_scene

__all__ = ["Walker", "default_walkers", "render_scene"]


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
