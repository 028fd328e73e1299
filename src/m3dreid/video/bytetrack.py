"""Score-aware two-stage association (the idea of ByteTrack, Zhang et al., ECCV 2022), written here.

Each frame, with Kalman-predicted track boxes:

1. detections scoring at least ``high_score`` are matched to every live track by IoU (Hungarian, >= ``iou_threshold``);
2. the tracks still unmatched (confirmed ones only) are matched to the low-score detections (``low_score`` to
   ``high_score``) at a stricter IoU (``low_iou``): a half-hidden person gives a weak detection where the track
   expects them, which keeps the track alive, while a weak detection anywhere else is ignored;
3. unmatched high-score detections start tentative tracks (confirmed after ``min_hits`` frames in a row, as in
   :class:`~m3dreid.video.track.IouKalmanTracker`); low-score detections never start a track.

Bridging: when a confirmed track is found again after missing ``m <= max_gap`` frames (an occlusion, a missed
detection), the boxes of the frames it missed are filled in by linear interpolation between its last and its new box
and released with ``interpolated=True`` and no payload (no crop: the person was usually hidden then). Streaming is
kept: they are released when the track is found again, at most ``max_gap`` frames late.

``coast(frame)`` advances every track one frame without detections and returns the predicted boxes of the tracks
matched on the last frame (used when the detector runs only every k-th frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from m3dreid.video.boxes import iou_matrix
from m3dreid.video.detect import Detections
from m3dreid.video.kalman import BoxKalman
from m3dreid.video.track import ConfirmingTracker, TrackedBox

__all__ = ["ByteTracker"]


@dataclass
class _Track:
    kalman: BoxKalman
    last_box: np.ndarray  # (4,) the last matched detection
    last_frame: int
    hits: int = 1
    misses: int = 0
    track_id: int = 0  # 0 while tentative
    pending: list[TrackedBox] = field(default_factory=list)


def _match(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= threshold]


class ByteTracker(ConfirmingTracker):
    """Two-stage (high then low score) IoU + Kalman tracker with gap bridging; see the module docstring."""

    def __init__(
        self,
        *,
        high_score: float = 0.5,
        low_score: float = 0.0,
        iou_threshold: float = 0.2,
        low_iou: float = 0.4,
        max_age: int = 15,
        min_hits: int = 3,
        max_gap: int = 15,
        smooth: bool = False,
    ) -> None:
        if not low_score <= high_score:
            raise ValueError(f"bad tracker settings: low_score {low_score} > high_score {high_score}")
        if min_hits < 1 or max_age < 0 or max_gap < 0 or not 0.0 <= iou_threshold < 1.0 or not 0.0 <= low_iou < 1.0:
            raise ValueError(f"bad tracker settings: {iou_threshold=}, {low_iou=}, {max_age=}, {min_hits=}, {max_gap=}")
        self.high_score, self.low_score = high_score, low_score
        self.iou_threshold, self.low_iou = iou_threshold, low_iou
        self.max_age, self.min_hits, self.max_gap = max_age, min_hits, max_gap
        self.smooth = smooth
        self._tracks: list[_Track] = []
        self._next_id = 1

    def update(self, frame: int, detections: Detections, payloads: list[Any] | None = None) -> list[TrackedBox]:
        """Match this frame's detections; returns the boxes of confirmed tracks (with released backlogs)."""
        payloads = payloads if payloads is not None else [None] * len(detections)
        boxes, scores = detections.boxes, detections.scores
        predicted = np.array([t.kalman.predict() for t in self._tracks]).reshape(-1, 4)  # (K, 4)
        high = np.flatnonzero(scores >= self.high_score)
        low = np.flatnonzero((scores >= self.low_score) & (scores < self.high_score))
        first = [(r, int(high[c])) for r, c in _match(iou_matrix(predicted, boxes[high]), self.iou_threshold)]
        left = [r for r in range(len(self._tracks)) if r not in {r for r, _ in first} and self._tracks[r].track_id]
        second = _match(iou_matrix(predicted[left], boxes[low]), self.low_iou)
        matches = first + [(left[r], int(low[c])) for r, c in second]
        out: list[TrackedBox] = []
        for r, c in matches:
            track = self._tracks[r]
            box = TrackedBox(frame, track.track_id, boxes[c].copy(), float(scores[c]), payloads[c])
            if track.track_id and track.misses:
                out.extend(self._bridge(track, box))
            track.kalman.update(boxes[c])
            if self.smooth:
                box = TrackedBox(frame, track.track_id, track.kalman.box(), float(scores[c]), payloads[c])
            track.hits += 1
            track.misses = 0
            track.last_box, track.last_frame = boxes[c].copy(), frame
            out.extend(self._emit(track, box))
        matched = {r for r, _ in matches}
        self._tracks = [t for r, t in enumerate(self._tracks) if r in matched or self._survives_miss(t)]
        used = {c for _, c in matches}
        for c in high:
            if int(c) in used:
                continue
            track = _Track(kalman=BoxKalman(boxes[c]), last_box=boxes[c].copy(), last_frame=frame)
            out.extend(self._emit(track, TrackedBox(frame, 0, boxes[c].copy(), float(scores[c]), payloads[c])))
            self._tracks.append(track)
        return out

    def coast(self, frame: int) -> list[TrackedBox]:
        """A frame the detector skipped: predict every track; the confirmed tracks matched on their previous frame
        return their predicted box (score 0, no payload: the caller cuts the crop), and count as matched."""
        out = []
        for track in self._tracks:
            box = track.kalman.predict()
            if track.track_id and track.misses == 0 and track.last_frame == frame - 1:
                out.append(TrackedBox(frame, track.track_id, box.copy(), 0.0, None))
                track.last_box, track.last_frame = box.copy(), frame
        return out

    def _survives_miss(self, track: _Track) -> bool:
        track.misses += 1
        return track.misses <= (self.max_age if track.track_id else 0)  # a tentative track dies at its first miss

    def _bridge(self, track: _Track, box: TrackedBox) -> list[TrackedBox]:
        gap = box.frame - track.last_frame - 1
        if not 1 <= gap <= self.max_gap:
            return []
        out = []
        for step in range(1, gap + 1):
            a = step / (gap + 1)
            filled = (1 - a) * track.last_box + a * box.box
            out.append(TrackedBox(track.last_frame + step, track.track_id, filled, 0.0, None, interpolated=True))
        return out
