"""The default detector + tracker on real MOT15 footage (the TUD-Campus fixture), scored against its ground truth,
and the default detector's cost counted (benchmarks/video_detection.py times it)."""

from pathlib import Path

from m3dreid.config import VideoConfig
from m3dreid.video.detect import HogDetector
from m3dreid.video.metrics import track_metrics
from m3dreid.video.mot import read_mot
from m3dreid.video.pipeline import build_tracklets
from m3dreid.video.setup import build_detector, build_tracker

SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"


def test_default_detector_tracks_real_pedestrians(tmp_path):
    video = VideoConfig()
    build_tracklets(SEQ / "TUD-Campus.mp4", tmp_path, detector=build_detector(video), tracker=build_tracker(video),
                    crop_size=(32, 16), progress=False)  # fmt: skip
    metrics = track_metrics(read_mot(SEQ / "gt" / "gt.txt"), read_mot(tmp_path / "tracks.txt"), iou_threshold=0.5)
    # Measured (all 71 frames, held out from the tuning on TUD-Stadtmitte): recall 0.454, precision 0.942, IDF1 0.564,
    # 1 ID switch; the previous default (step 1.05, NMS 0.4, one-stage tracker): 0.46 / 0.87 / 0.48.
    assert metrics.recall >= 0.42 and metrics.precision >= 0.88 and metrics.idf1 >= 0.52


def test_default_detector_cost_per_640x480_frame():
    default = build_detector(VideoConfig())
    before = HogDetector(scale=1.05)  # the previous default pyramid
    windows, windows_before = default.windows_per_frame(640, 480), before.windows_per_frame(640, 480)
    assert windows_before == 28_336 and windows == 15_510  # hand-checkable sums over the pyramid levels
    assert windows / windows_before < 0.55  # measured time ratio: about 0.38 (benchmarks/video_detection.py)
    assert HogDetector(min_height=48).windows_per_frame(640, 480) > 5 * windows  # 2x upscaling: about 4x the pixels
