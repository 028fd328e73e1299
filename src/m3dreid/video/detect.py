"""Person detectors that run offline on a CPU with only what OpenCV ships, plus replay of a MOT detection file.

A detector is any callable ``detector(frame, frame_number) -> Detections``; ``DETECTORS`` maps command-line names to
builders. ``hog`` (OpenCV's Dalal-Triggs people detector, the command line's default) works on a moving camera and
finds people who stand still; it needs OpenCV 4.x (OpenCV 5 no longer ships it, hence the ``<5`` pin). ``motion``
(MOG2 background subtraction) is fast and finds small people, but needs a static camera, sees people who stand still
as background, and merges people who overlap into one blob.
For anything better, run a modern detector elsewhere and give its boxes as a MOT ``det.txt``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from m3dreid.errors import InputError
from m3dreid.video.boxes import iou_matrix, nms
from m3dreid.video.mot import MotTable

__all__ = ["Detections", "HogDetector", "MotionDetector", "MotReplay", "DETECTORS", "create_detector", "fuse_boxes"]


@dataclass(frozen=True)
class Detections:
    boxes: np.ndarray  # (N, 4) float64, x, y, w, h
    scores: np.ndarray  # (N,) float64
    ids: np.ndarray | None = None  # (N,) int64 track ids when the source already tracked them (MOT gt)

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @staticmethod
    def empty() -> Detections:
        return Detections(boxes=np.zeros((0, 4)), scores=np.zeros(0))


PERSON_IN_WINDOW = 96  # px: the person's height inside the 64x128 HOG window (16 px margin above and below)


class HogDetector:
    """OpenCV's HOG + linear SVM people detector (64x128 window) over an image pyramid, windows merged into boxes.

    The detector was trained on 64x128 windows that hold the person with about 16 px of margin on every side (Dalal &
    Triggs), so a raw window is much wider than the person; ``person_margin`` (fractions of the window's width and
    height, default 16/64 and 16/128) crops each box to the person inside.

    - ``min_height``: the shortest person (px) to find. The window sees people ``PERSON_IN_WINDOW`` = 96 px tall at
      native size, so the frame is first scaled by ``96 / min_height`` (> 1 upscales, for small people, at about the
      square of the factor in time; < 1 is faster when everyone is tall). None: ``resize`` as given (default 1).
    - ``scale``: the pyramid's step between levels. Time per frame goes with ``1 / (1 - scale**-2)``: 1.05 is about
      1.9x the cost of 1.1 and 3.3x that of 1.2.
    - ``hit_threshold``: the SVM score below which windows are not returned at all; each box's score is its best
      window's SVM score (the tracker's ``high_score`` / ``low_score`` split is applied to it).
    - ``nms_iou`` and ``fuse``: windows are suppressed greedily (highest score first) at this IoU; with ``fuse``, each
      kept box is the mean of the windows overlapping it by more than ``fuse_iou``, weighted by how far their score
      clears ``min_score``, which localises the person better than any one window of the discrete pyramid.

    Measured on the real MOT15 TUD sequences (see ``benchmarks/video_detection.py`` for the table and conditions).
    """

    def __init__(
        self,
        *,
        hit_threshold: float = 0.0,
        win_stride: int = 8,
        scale: float = 1.1,
        resize: float = 1.0,
        min_height: float | None = None,
        nms_iou: float = 0.3,
        fuse: bool = True,
        fuse_iou: float = 0.5,
        min_score: float | None = None,
        person_margin: tuple[float, float] = (16 / 64, 16 / 128),
    ) -> None:
        if not hasattr(cv2, "HOGDescriptor"):
            raise RuntimeError(
                f"OpenCV {cv2.__version__} does not ship the HOG people detector (OpenCV 5 moved it out of the main "
                "package); use --detector motion, give detections with --detections det.txt, or install opencv<5"
            )
        if scale <= 1.0 or win_stride < 1 or not 0.0 < nms_iou < 1.0 or (min_height is not None and min_height <= 0):
            raise ValueError(f"bad HOG settings: {scale=} (> 1), {win_stride=} (>= 1), {nms_iou=} (0-1), {min_height=}")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.hit_threshold = hit_threshold
        self.win_stride = (win_stride, win_stride)
        self.scale = scale
        self.resize = PERSON_IN_WINDOW / min_height if min_height else resize
        self.nms_iou = nms_iou
        self.fuse = fuse
        self.fuse_iou = fuse_iou
        self.min_score = hit_threshold if min_score is None else min_score
        self.person_margin = person_margin

    def windows_per_frame(self, width: int, height: int) -> int:
        """How many 64x128 windows the pyramid scores on a ``width x height`` frame: the detector's cost, counted.

        Level ``l`` is the (resized) frame shrunk by ``scale ** l``, kept while the window fits; each level is padded by
        8 px a side and scanned at ``win_stride``. A deterministic stand-in for time (tests cannot time things).
        """
        w, h = width * self.resize, height * self.resize
        total, level = 0, 0
        while True:
            lw, lh = round(w / self.scale**level), round(h / self.scale**level)
            if lw < 64 or lh < 128:
                return total
            total += ((lw + 16 - 64) // self.win_stride[0] + 1) * ((lh + 16 - 128) // self.win_stride[1] + 1)
            level += 1

    def __call__(self, frame: np.ndarray, frame_number: int) -> Detections:
        image = frame if self.resize == 1.0 else cv2.resize(frame, None, fx=self.resize, fy=self.resize)
        rects, weights = self._hog.detectMultiScale(
            image,
            hitThreshold=self.hit_threshold,
            winStride=self.win_stride,
            padding=(8, 8),
            scale=self.scale,
            groupThreshold=0,  # raw windows: merged below, so that scores survive and boxes can be fused
        )
        if len(rects) == 0:
            return Detections.empty()
        boxes = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / self.resize  # (N, 4)
        scores = np.asarray(weights, dtype=np.float64).reshape(-1)  # (N,)
        keep = scores >= self.min_score
        boxes, scores = boxes[keep], scores[keep]
        if len(boxes) == 0:
            return Detections.empty()
        kept = nms(boxes, scores, self.nms_iou)
        if self.fuse:
            boxes = fuse_boxes(boxes, scores - self.min_score + 1e-3, kept, self.fuse_iou)  # (K, 4)
        else:
            boxes = boxes[kept].copy()  # (K, 4) x, y, w, h of the detection windows
        margin_x, margin_y = self.person_margin
        boxes[:, 0] += margin_x * boxes[:, 2]
        boxes[:, 1] += margin_y * boxes[:, 3]
        boxes[:, 2] *= 1 - 2 * margin_x
        boxes[:, 3] *= 1 - 2 * margin_y
        return Detections(boxes=boxes, scores=scores[kept])


def fuse_boxes(boxes: np.ndarray, weights: np.ndarray, kept: np.ndarray, iou_threshold: float) -> np.ndarray:
    """``(K, 4)``: each kept box replaced by the ``weights``-weighted mean of all ``boxes`` (N, 4) that overlap it
    by more than ``iou_threshold`` (itself included)."""
    overlap = iou_matrix(boxes[kept], boxes) > iou_threshold  # (K, N)
    overlap[np.arange(len(kept)), kept] = True
    w = overlap * np.clip(weights, 1e-12, None)[None, :]  # (K, N)
    return (w @ boxes) / w.sum(axis=1, keepdims=True)


class MotionDetector:
    """Moving blobs from MOG2 background subtraction, cleaned by morphology, kept when person-sized and upright.

    The score is the blob's fill ratio of its box. Shadows (MOG2 marks them 127) are dropped.
    """

    def __init__(
        self,
        *,
        history: int = 200,
        var_threshold: float = 16.0,
        min_area: int = 100,
        min_aspect: float = 1.0,
        max_aspect: float = 5.0,
        kernel: int = 3,
        warmup_frames: int = 0,
    ) -> None:
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=history, varThreshold=var_threshold, detectShadows=True
        )
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
        self.min_area = min_area
        self.min_aspect = min_aspect
        self.max_aspect = max_aspect
        self.warmup_frames = warmup_frames

    def __call__(self, frame: np.ndarray, frame_number: int) -> Detections:
        mask = self._subtractor.apply(frame)  # (H, W) uint8: 0 background, 127 shadow, 255 foreground
        if frame_number <= self.warmup_frames:
            return Detections.empty()
        mask = np.where(mask == 255, 255, 0).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes, scores = [], []
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            if area < self.min_area or not (self.min_aspect <= h / max(w, 1) <= self.max_aspect):
                continue
            boxes.append((x, y, w, h))
            scores.append(area / float(w * h))
        if not boxes:
            return Detections.empty()
        return Detections(boxes=np.asarray(boxes, dtype=np.float64), scores=np.asarray(scores, dtype=np.float64))


class MotReplay:
    """Detections read from a MOT file (``gt.txt`` or ``det.txt``), returned frame by frame.

    When every row carries a track id, the ids travel with the boxes so the given tracks can be reproduced exactly.
    """

    def __init__(self, table: MotTable, *, min_score: float | None = None) -> None:
        if min_score is not None:
            keep = table.scores >= min_score
            table = MotTable(table.frames[keep], table.ids[keep], table.boxes[keep], table.scores[keep])
        self.table = table
        self._rows = table.rows_by_frame()

    @property
    def has_ids(self) -> bool:
        return self.table.has_ids

    @property
    def last_frame(self) -> int:
        return int(self.table.frames.max()) if len(self.table) else 0

    def __call__(self, frame: np.ndarray, frame_number: int) -> Detections:
        rows = self._rows.get(frame_number)
        if rows is None:  # a frame without rows (a gap, or a file that ends before the video): nobody there
            empty = Detections.empty()
            return Detections(empty.boxes, empty.scores, np.zeros(0, np.int64)) if self.has_ids else empty
        ids = self.table.ids[rows] if self.has_ids else None
        return Detections(boxes=self.table.boxes[rows], scores=self.table.scores[rows], ids=ids)


DETECTORS: dict[str, Callable[..., Callable[[np.ndarray, int], Detections]]] = {
    "hog": HogDetector,
    "motion": MotionDetector,
}


def create_detector(name: str, **kwargs: object) -> Callable[[np.ndarray, int], Detections]:
    """Build a detector by its command-line name; an unknown name lists the known ones."""
    if name not in DETECTORS:
        raise InputError(f"unknown detector '{name}'; known detectors: {', '.join(sorted(DETECTORS))}")
    return DETECTORS[name](**kwargs)
