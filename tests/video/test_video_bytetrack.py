"""The two-stage (high / low score) tracker, gap bridging, coasting, box fusion, and the tracklets settings."""

from __future__ import annotations

import numpy as np
import pytest

from m3dreid.cli import main
from m3dreid.config import VideoConfig, load_config
from m3dreid.video import Detections, MotTable, track_metrics
from m3dreid.video.bytetrack import ByteTracker
from m3dreid.video.detect import HogDetector, fuse_boxes
from m3dreid.video.setup import build_detector, build_tracker


def _walk(frame: int) -> tuple[float, float, float, float]:
    return (10.0 + 4 * frame, 50.0, 20.0, 50.0)


def _feed(tracker, frames):
    out = []
    for number, boxes, scores in frames:
        dets = Detections(np.asarray(boxes, float).reshape(-1, 4), np.asarray(scores, float))
        out += tracker.update(number, dets)
    return out + tracker.finish()


def test_low_score_detections_keep_a_track_but_never_start_one():
    # frames 1-10 strong, 11-20 weak (half hidden), 21-30 strong; a weak false box elsewhere on frames 5-20
    frames = []
    for f in range(1, 31):
        boxes, scores = [_walk(f)], [0.9 if f <= 10 or f > 20 else 0.2]
        if 5 <= f <= 20:
            boxes.append((300.0, 200.0, 20.0, 50.0))
            scores.append(0.3)
        frames.append((f, boxes, scores))
    out = _feed(ByteTracker(high_score=0.5, low_score=0.1, max_gap=0), frames)
    assert {b.track_id for b in out} == {1}  # one person, one id; the weak false box never became a track
    assert [b.frame for b in out] == list(range(1, 31))
    # one stage with every box alike (high_score = low_score) keeps the weak person too, but tracks the false box
    one_stage = _feed(ByteTracker(high_score=0.1, low_score=0.1, max_gap=0), frames)
    assert len({b.track_id for b in one_stage}) == 2
    # without the second stage (low boxes dropped), the person is lost for 10 frames > max_age and comes back new
    dropped = [(f, [b for b, s in zip(bs, ss, strict=True) if s >= 0.5], [s for s in ss if s >= 0.5])
               for f, bs, ss in frames]  # fmt: skip
    assert len({b.track_id for b in _feed(ByteTracker(high_score=0.5, max_age=5), dropped)}) == 2


def test_gap_is_bridged_by_interpolation():
    frames = [(f, [] if 11 <= f <= 14 else [_walk(f)], [] if 11 <= f <= 14 else [1.0]) for f in range(1, 21)]
    out = _feed(ByteTracker(max_gap=4), frames)
    bridged = sorted((b for b in out if b.interpolated), key=lambda b: b.frame)
    assert [b.frame for b in bridged] == [11, 12, 13, 14] and all(b.payload is None for b in bridged)
    for b in bridged:  # the walk is linear: interpolation between frames 10 and 15 is exact
        np.testing.assert_allclose(b.box, _walk(b.frame))
    gt = MotTable.from_rows([(f, 1, *_walk(f), 1.0) for f in range(1, 21)])
    pred = MotTable.from_rows([(b.frame, b.track_id, *b.box, 1.0) for b in out])
    assert track_metrics(gt, pred).recall == 1.0
    assert not any(b.interpolated for b in _feed(ByteTracker(max_gap=3), frames))  # a 4-frame gap is too long


def test_coast_predicts_between_detector_frames():
    tracker = ByteTracker(min_hits=2)
    out = []
    for f in range(1, 13):
        if f % 2:  # the detector runs on odd frames
            out += tracker.update(f, Detections(np.array([_walk(f)]), np.array([1.0])))
        else:
            out += tracker.coast(f)
    # frame 2 is coasted while the track is still tentative (confirmed on frame 3): no box for it
    assert [b.frame for b in out] == [1, *range(3, 13)] and {b.track_id for b in out} == {1}
    for b in out[4:]:  # once the Kalman filter has the velocity, the predicted boxes follow the walk
        np.testing.assert_allclose(b.box[:2], _walk(b.frame)[:2], atol=2.0)


def test_fuse_boxes_hand_worked():
    boxes = np.array([[0, 0, 10, 20], [2, 0, 10, 20], [100, 0, 10, 20]], float)
    fused = fuse_boxes(boxes, np.array([3.0, 1.0, 1.0]), np.array([0, 2]), 0.5)
    np.testing.assert_allclose(fused, [[0.5, 0, 10, 20], [100, 0, 10, 20]])  # (3 * 0 + 1 * 2) / 4 = 0.5


def test_hog_settings_from_config_and_flags(tmp_path):
    config = tmp_path / "video.yaml"
    config.write_text("video:\n  hog_scale: 1.2\n  min_height: 48\n  high_score: 1.5\n")
    video = load_config(config, ["video.nms_iou=0.45"]).video
    detector = build_detector(video)
    assert isinstance(detector, HogDetector)
    assert (detector.scale, detector.resize, detector.nms_iou) == (1.2, 2.0, 0.45)  # 96 / 48 = 2x upscale
    tracker = build_tracker(video)
    assert (tracker.high_score, tracker.low_score) == (1.5, 0.0)  # low: the HOG default
    assert build_tracker(VideoConfig(detector="onnx")).high_score == 0.5
    with pytest.raises(ValueError, match="scale"):
        HogDetector(scale=1.0)
    with pytest.raises(KeyError, match="known detectors"):
        build_detector(VideoConfig(detector="yolo"))


def test_tracklets_command_bad_settings(tmp_path, capsys):
    video = tmp_path / "none.mp4"
    assert main(["tracklets", str(video), "--out", str(tmp_path / "o"), "--hog-scale", "0.9"]) == 2
    assert "bad HOG settings" in capsys.readouterr().err
    assert main(["tracklets", str(video), "--out", str(tmp_path / "o"), "--detector", "onnx"]) == 2
    assert "--detector-model" in capsys.readouterr().err
    assert main(["tracklets", str(video), "--out", str(tmp_path / "o"), "--set", "video.max_age=x"]) == 2
    assert "video.max_age" in capsys.readouterr().err
