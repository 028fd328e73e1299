"""Link per-frame detections into tracks: an IoU + Kalman + Hungarian tracker, and a pass-through for given ids.

A tracker is fed one frame at a time (``update``) and returns the boxes it is sure of. A new track stays tentative
until it has been matched ``min_hits`` frames in a row; its boxes (and any payload, e.g. the image crop) wait in a
small buffer and are released, with a fresh track id, once it is confirmed, or dropped if it dies first. So false
detections that flicker for a frame or two never reach the output, the first frames of a real track are not lost,
and memory stays bounded: only ``min_hits`` boxes per tentative track are ever held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from m3dreid.video.boxes import iou_matrix
from m3dreid.video.detect import Detections
from m3dreid.video.kalman import BoxKalman

__all__ = ["TrackedBox", "IouKalmanTracker", "GivenIdTracker"]


@dataclass(frozen=True)
class TrackedBox:
    frame: int
    track_id: int
    box: np.ndarray  # (4,) x, y, w, h: the detection itself, not the filtered estimate
    score: float
    payload: Any = None
    interpolated: bool = False  # filled in across a short gap (no detection that frame, no crop)


@dataclass
class _Track:
    kalman: BoxKalman
    hits: int = 1
    misses: int = 0
    track_id: int = 0  # 0 while tentative
    pending: list[TrackedBox] = field(default_factory=list)


class ConfirmingTracker:
    """What the box trackers share: a new track stays tentative, its boxes held back, until it has ``min_hits``
    hits; then it gets the next id and its held boxes are released. Subclasses set ``min_hits``, ``_next_id`` and
    ``_tracks``; their tracks carry ``track_id`` (0 while tentative), ``hits`` and ``pending``."""

    min_hits: int
    _next_id: int

    def _emit(self, track: _Track, box: TrackedBox) -> list[TrackedBox]:
        if track.track_id:
            return [TrackedBox(box.frame, track.track_id, box.box, box.score, box.payload)]
        track.pending.append(box)
        if track.hits < self.min_hits:
            return []
        track.track_id = self._next_id
        self._next_id += 1
        released = [TrackedBox(b.frame, track.track_id, b.box, b.score, b.payload) for b in track.pending]
        track.pending = []
        return released

    def finish(self) -> list[TrackedBox]:
        """End of the video: tentative tracks are dropped; nothing is held back for confirmed ones."""
        self._tracks = []
        return []


class IouKalmanTracker(ConfirmingTracker):
    """SORT-style tracker: Kalman-predicted boxes matched to detections by IoU with the Hungarian algorithm.

    ``max_age`` is how many frames a confirmed track may go unmatched (occlusion, a missed detection) and still pick
    up its person again where the constant-velocity prediction says it should be.
    """

    def __init__(self, *, iou_threshold: float = 0.2, max_age: int = 15, min_hits: int = 3) -> None:
        if min_hits < 1 or max_age < 0 or not 0.0 <= iou_threshold < 1.0:
            raise ValueError(f"bad tracker settings: {iou_threshold=}, {max_age=}, {min_hits=}")
        self.iou_threshold = iou_threshold
        self.max_age = max_age
        self.min_hits = min_hits
        self._tracks: list[_Track] = []
        self._next_id = 1

    def update(self, frame: int, detections: Detections, payloads: list[Any] | None = None) -> list[TrackedBox]:
        """Match this frame's detections; returns the boxes of confirmed tracks (with released backlogs)."""
        payloads = payloads if payloads is not None else [None] * len(detections)
        predicted = np.array([t.kalman.predict() for t in self._tracks]).reshape(-1, 4)  # (K, 4)
        iou = iou_matrix(predicted, detections.boxes)  # (K, N)
        matches: list[tuple[int, int]] = []
        if iou.size:
            rows, cols = linear_sum_assignment(-iou)
            matches = [(r, c) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= self.iou_threshold]
        matched_tracks = {r for r, _ in matches}
        matched_dets = {c for _, c in matches}

        out: list[TrackedBox] = []
        for r, c in matches:
            track = self._tracks[r]
            track.kalman.update(detections.boxes[c])
            track.hits += 1
            track.misses = 0
            box = TrackedBox(
                frame, track.track_id, detections.boxes[c].copy(), float(detections.scores[c]), payloads[c]
            )
            out.extend(self._emit(track, box))
        survivors = []
        for r, track in enumerate(self._tracks):
            if r not in matched_tracks:
                track.misses += 1
                limit = self.max_age if track.track_id else 0  # a tentative track dies at its first miss
                if track.misses > limit:
                    continue
            survivors.append(track)
        self._tracks = survivors
        for c in range(len(detections)):
            if c in matched_dets:
                continue
            track = _Track(kalman=BoxKalman(detections.boxes[c]))
            box = TrackedBox(frame, 0, detections.boxes[c].copy(), float(detections.scores[c]), payloads[c])
            out.extend(self._emit(track, box))
            self._tracks.append(track)
        return out


class GivenIdTracker:
    """For detections that already carry track ids (a MOT ``gt.txt``): passes them through unchanged."""

    def update(self, frame: int, detections: Detections, payloads: list[Any] | None = None) -> list[TrackedBox]:
        if detections.ids is None and len(detections):
            raise ValueError(f"frame {frame}: GivenIdTracker needs detections with track ids")
        if not len(detections):
            return []
        payloads = payloads if payloads is not None else [None] * len(detections)
        return [
            TrackedBox(frame, int(i), b.copy(), float(s), p)
            for i, b, s, p in zip(detections.ids, detections.boxes, detections.scores, payloads, strict=True)
        ]

    def finish(self) -> list[TrackedBox]:
        return []
