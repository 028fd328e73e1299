"""Own-footage detection and tracking on real MOT15 sequences: accuracy and detector speed per core, side by side.

For each sequence folder (``SEQ/SEQ.mp4`` + ``SEQ/gt/gt.txt``, MOTChallenge layout) and each setting, the whole
``m3dreid tracklets`` pipeline runs (crops 64x32) and its ``tracks.txt`` is scored against the ground truth at IoU 0.5
(recall, precision, MOTA, IDF1, ID switches: ``m3dreid.video.metrics``). Detector speed is video frames per
CPU-second of the detector calls alone (so ``--detect-every 2`` halves the cost), measured with ``time.process_time``
and OpenCV on one thread: frames/s per core, which other jobs on the machine do not change, unlike wall time. The
TUD frames are 640x480.

Settings: ``hog`` (the default: pyramid step 1.1, fused windows, two-stage tracker with gap bridging), ``hog
before`` (the previous default: step 1.05, NMS 0.4, one-stage IoU tracker), ``hog --min-height 64`` (1.5x upscaled),
``hog --detect-every 2``, ``motion``, and ``hog --relink histogram``. The defaults were chosen on TUD-Stadtmitte
alone; TUD-Campus is held out.

    python benchmarks/video_detection.py --root /work/shared/mot15          # TUD-Campus and TUD-Stadtmitte
    python benchmarks/video_detection.py --quick                             # the test fixture (TUD-Campus), 3 rows
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe_device, markdown_table  # noqa: E402

from m3dreid.config import VideoConfig  # noqa: E402
from m3dreid.video import build_tracklets, read_mot, track_metrics  # noqa: E402
from m3dreid.video.setup import build_detector, build_tracker  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mot15"

SETTINGS = {
    "hog": VideoConfig(),
    "hog before": VideoConfig(hog_scale=1.05, nms_iou=0.4, tracker="iou", iou=0.2),
    "hog --min-height 64": VideoConfig(min_height=64),
    "hog --detect-every 2": VideoConfig(detect_every=2),
    "motion": VideoConfig(detector="motion", tracker="iou", iou=0.2),
    "hog --relink histogram": VideoConfig(),
}
QUICK = ("hog", "hog before", "hog --relink histogram")


class TimedDetector:
    """Wraps a detector and adds up the CPU time of its calls."""

    def __init__(self, detector) -> None:
        self.detector, self.seconds, self.calls = detector, 0.0, 0

    def __call__(self, frame, number):
        start = time.process_time()
        out = self.detector(frame, number)
        self.seconds += time.process_time() - start
        self.calls += 1
        return out


class HogBefore:
    """The previous default detector, as it was: OpenCV's own window grouping, windows under 0.3 dropped, NMS 0.4."""

    def __init__(self) -> None:
        import numpy as np

        from m3dreid.video.boxes import nms
        from m3dreid.video.detect import Detections

        self._np, self._nms, self._detections = np, nms, Detections
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def __call__(self, frame, number):
        np = self._np
        rects, weights = self._hog.detectMultiScale(frame, hitThreshold=0.0, winStride=(8, 8), padding=(8, 8),
                                                    scale=1.05)  # fmt: skip
        if len(rects) == 0:
            return self._detections.empty()
        boxes = np.asarray(rects, np.float64).reshape(-1, 4)
        scores = np.asarray(weights, np.float64).reshape(-1)
        boxes, scores = boxes[scores >= 0.3], scores[scores >= 0.3]
        kept = self._nms(boxes, scores, 0.4)
        boxes = boxes[kept].copy()
        boxes[:, 0] += boxes[:, 2] / 4
        boxes[:, 1] += boxes[:, 3] / 8
        boxes[:, 2] *= 0.5
        boxes[:, 3] *= 0.75
        return self._detections(boxes, scores[kept])


def run_setting(seq: Path, name: str, video: VideoConfig, work: Path) -> dict:
    detector = TimedDetector(HogBefore() if name == "hog before" else build_detector(video))
    out = work / f"{seq.name}_{name.replace(' ', '_')}"
    summary = build_tracklets(seq / f"{seq.name}.mp4", out, detector=detector, tracker=build_tracker(video),
                              crop_size=(64, 32), progress=False, detect_every=video.detect_every)  # fmt: skip
    joins = ""
    if "relink" in name:
        from m3dreid.video.relink import relink_folder, tracklet_embedder

        result = relink_folder(out, embed=tracklet_embedder("histogram"), max_gap=video.relink_gap)
        joins = f"{len(result.joins)} joins"
    m = track_metrics(read_mot(seq / "gt" / "gt.txt"), read_mot(out / "tracks.txt"), iou_threshold=0.5)
    shutil.rmtree(out)
    fps = summary.frames_read / detector.seconds if detector.seconds else float("nan")  # video frames a CPU-second
    return {"sequence": seq.name, "setting": name, "recall": m.recall, "precision": m.precision, "mota": m.mota,
            "idf1": m.idf1, "switches": m.id_switches, "tracks": len(summary.tracks), "fps": fps,
            "detector_frames": detector.calls, "frames": summary.frames_read, "note": joins}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(FIXTURE), help="folder of MOT sequences (default: the test fixture)")
    parser.add_argument("--sequences", default="", help="comma-separated sequence names (default: every one)")
    parser.add_argument("--quick", action="store_true", help=f"only the settings {', '.join(QUICK)}")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    root = Path(args.root)
    names = [s for s in args.sequences.split(",") if s] or sorted(p.name for p in root.iterdir() if p.is_dir())
    seqs = [root / n for n in names if (root / n / "gt" / "gt.txt").is_file()]
    if not seqs:
        raise SystemExit(f"{root}: no MOT sequences (SEQ/SEQ.mp4 + SEQ/gt/gt.txt)")
    import torch

    torch.set_num_threads(1)
    print(describe_device(torch.device("cpu")))
    print("GPU rows not run: the detectors here run on the CPU only")
    settings = {k: v for k, v in SETTINGS.items() if not args.quick or k in QUICK}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seq in seqs:
            for name, video in settings.items():
                rows.append(run_setting(seq, name, dataclasses.replace(video), Path(tmp)))
                r = rows[-1]
                print(f"  {r['sequence']} {r['setting']}: IDF1 {r['idf1']:.3f} ({r['fps']:.1f} frames/s)", flush=True)
    table = [[r["sequence"], r["setting"], f"{r['recall']:.3f}", f"{r['precision']:.3f}", f"{r['mota']:.3f}",
              f"{r['idf1']:.3f}", r["switches"], r["tracks"], f"{r['fps']:.1f}", r["note"]] for r in rows]  # fmt: skip
    headers = ["sequence", "setting", "recall", "precision", "MOTA", "IDF1", "ID sw", "tracks",
               "detector frames/s per core", "relink"]  # fmt: skip
    print(markdown_table(headers, table))
    base = {r["sequence"]: r["fps"] for r in rows if r["setting"] == "hog before"}
    for r in rows:
        if r["setting"] == "hog" and r["sequence"] in base:
            ratio = r["fps"] / base[r["sequence"]]
            print(f"{r['sequence']}: default hog detector speed / previous default = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
