"""Build the detector and tracker that a ``video`` config section (:class:`m3dreid.config.VideoConfig`) describes."""

from __future__ import annotations

from m3dreid.config import VideoConfig
from m3dreid.video.bytetrack import ByteTracker
from m3dreid.video.detect import DETECTORS, HogDetector, MotionDetector
from m3dreid.video.track import IouKalmanTracker

__all__ = ["build_detector", "build_tracker", "SCORE_SPLIT"]

# (high_score, low_score) of the two-stage tracker per detector, where the config leaves them None. HOG's scores are
# SVM margins (about 0 to 3), chosen on TUD-Stadtmitte (benchmarks/video_detection.py); ONNX scores are
# probabilities (ByteTrack's own split: 0.5 / 0.1); the motion detector's fill ratio carries no confidence.
SCORE_SPLIT = {"hog": (1.0, 0.0), "onnx": (0.5, 0.1), "motion": (0.0, 0.0)}


def build_detector(video: VideoConfig):
    """The detector named by ``video.detector``; an unknown name lists the known ones (KeyError)."""
    name = video.detector
    if name == "hog":
        return HogDetector(
            hit_threshold=video.hit_threshold,
            win_stride=video.win_stride,
            scale=video.hog_scale,
            min_height=video.min_height or None,
            nms_iou=video.nms_iou,
        )
    if name == "motion":
        return MotionDetector()
    if name == "onnx":
        from m3dreid.video.onnx_detector import DetectorError, OnnxDetector

        if not video.detector_model:
            raise DetectorError("--detector onnx needs --detector-model FILE.onnx (video.detector_model)")
        return OnnxDetector(video.detector_model, score_threshold=video.score_threshold, nms_iou=video.nms_iou,
                            layout=video.detector_layout, person_class=video.person_class)  # fmt: skip
    known = sorted({*DETECTORS, "onnx"})
    raise KeyError(f"unknown detector '{name}'; known detectors: {', '.join(known)}")


def build_tracker(video: VideoConfig):
    """``byte`` (two-stage, with the detector's score split) or ``iou`` (one stage)."""
    if video.tracker == "iou":
        return IouKalmanTracker(iou_threshold=video.iou, max_age=video.max_age, min_hits=video.min_hits)
    if video.tracker != "byte":
        raise ValueError(f"unknown tracker '{video.tracker}' (known: byte, iou)")
    high, low = SCORE_SPLIT.get(video.detector, (0.5, 0.1))
    return ByteTracker(
        high_score=high if video.high_score is None else video.high_score,
        low_score=low if video.low_score is None else video.low_score,
        iou_threshold=video.iou,
        low_iou=video.low_iou,
        max_age=video.max_age,
        min_hits=video.min_hits,
        max_gap=video.max_gap,
    )
