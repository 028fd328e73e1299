"""Own footage: read a video, detect people, link them into tracks and write MARS-like tracklet crops."""

from m3dreid.video.boxes import iou_matrix, nms
from m3dreid.video.crops import CSV_FIELDS, TrackletWriter, crop_box, read_tracks_csv
from m3dreid.video.detect import DETECTORS, Detections, HogDetector, MotionDetector, MotReplay, create_detector
from m3dreid.video.kalman import BoxKalman
from m3dreid.video.metrics import TrackMetrics, track_metrics
from m3dreid.video.mot import MotFormatError, MotTable, read_mot, write_mot
from m3dreid.video.pipeline import TrackletSummary, build_tracklets
from m3dreid.video.reader import VideoError, VideoInfo, VideoReader
from m3dreid.video.track import GivenIdTracker, IouKalmanTracker, TrackedBox

__all__ = [
    "BoxKalman",
    "CSV_FIELDS",
    "DETECTORS",
    "Detections",
    "GivenIdTracker",
    "HogDetector",
    "IouKalmanTracker",
    "MotFormatError",
    "MotReplay",
    "MotTable",
    "MotionDetector",
    "TrackMetrics",
    "TrackedBox",
    "TrackletSummary",
    "TrackletWriter",
    "VideoError",
    "VideoInfo",
    "VideoReader",
    "build_tracklets",
    "create_detector",
    "crop_box",
    "iou_matrix",
    "nms",
    "read_mot",
    "read_tracks_csv",
    "track_metrics",
    "write_mot",
]
