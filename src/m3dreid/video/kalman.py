"""A constant-velocity Kalman filter over one box ``(cx, cy, w, h)``, for predicting where a track is next frame.

The state is ``(cx, cy, w, h, vcx, vcy, vw, vh)``. Process and measurement noise scale with the box height, so the
filter behaves the same for a person 50 px tall and one 300 px tall.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BoxKalman"]

_DIM = 4
_POS_STD = 1.0 / 20.0  # position noise as a fraction of the box height
_VEL_STD = 1.0 / 160.0  # velocity noise as a fraction of the box height


def _xywh_to_center(box: np.ndarray) -> np.ndarray:
    x, y, w, h = box
    return np.array([x + w / 2.0, y + h / 2.0, w, h], dtype=np.float64)


class BoxKalman:
    """Kalman filter for one track; ``predict`` then ``update`` once a frame (``update`` only when matched)."""

    _F = np.eye(2 * _DIM) + np.eye(2 * _DIM, k=_DIM)  # (8, 8): position += velocity
    _H = np.eye(_DIM, 2 * _DIM)  # (4, 8): we observe the position part

    def __init__(self, box: np.ndarray) -> None:
        z = _xywh_to_center(np.asarray(box, dtype=np.float64))
        self.mean = np.r_[z, np.zeros(_DIM)]  # (8,)
        h = max(z[3], 1.0)
        std = np.r_[2 * _POS_STD * h * np.ones(_DIM), 10 * _VEL_STD * h * np.ones(_DIM)]
        self.cov = np.diag(std**2)  # (8, 8)

    def predict(self) -> np.ndarray:
        """Advance one frame; returns the predicted box ``(x, y, w, h)``."""
        h = max(self.mean[3], 1.0)
        q = np.diag(np.r_[_POS_STD * h * np.ones(_DIM), _VEL_STD * h * np.ones(_DIM)] ** 2)
        self.mean = self._F @ self.mean
        self.mean[2:4] = np.maximum(self.mean[2:4], 1.0)  # a box never shrinks to nothing
        self.cov = self._F @ self.cov @ self._F.T + q
        return self.box()

    def update(self, box: np.ndarray) -> None:
        z = _xywh_to_center(np.asarray(box, dtype=np.float64))
        h = max(z[3], 1.0)
        r = np.diag((_POS_STD * h * np.ones(_DIM)) ** 2)
        s = self._H @ self.cov @ self._H.T + r  # (4, 4)
        gain = np.linalg.solve(s, self._H @ self.cov).T  # (8, 4)
        self.mean = self.mean + gain @ (z - self._H @ self.mean)
        self.cov = self.cov - gain @ s @ gain.T

    def box(self) -> np.ndarray:
        cx, cy, w, h = self.mean[:_DIM]
        return np.array([cx - w / 2.0, cy - h / 2.0, w, h], dtype=np.float64)
