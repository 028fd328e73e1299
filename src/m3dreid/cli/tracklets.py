"""``m3dreid tracklets VIDEO --out DIR``: detect and track people in a video and write MARS-like tracklet crops.

Settings come from the config's ``video`` section (``--config`` / ``--set video.KEY=VALUE``); a flag given on the
command line overrides it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from m3dreid.cli._common import add_config_arguments

HELP = "cut person tracklets out of a video (detector + tracker, or given MOT det/gt boxes)"

# flag -> video config key; every one defaults to None on the command line, meaning "the config's value"
_FLAGS = {
    "detector": "detector",
    "detector_model": "detector_model",
    "min_height": "min_height",
    "hog_scale": "hog_scale",
    "hit_threshold": "hit_threshold",
    "nms_iou": "nms_iou",
    "win_stride": "win_stride",
    "score_threshold": "score_threshold",
    "detector_layout": "detector_layout",
    "person_class": "person_class",
    "detect_every": "detect_every",
    "tracker": "tracker",
    "high_score": "high_score",
    "low_score": "low_score",
    "iou": "iou",
    "max_age": "max_age",
    "min_hits": "min_hits",
    "max_gap": "max_gap",
    "relink_gap": "relink_gap",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="video file OpenCV can read (mp4, avi, ...)")
    parser.add_argument("--out", required=True, help="output folder (bbox/, tracks.csv, tracks.txt, video.json)")
    parser.add_argument(
        "--detections",
        default=None,
        metavar="MOT.txt",
        help="use these MOTChallenge boxes (frame,id,x,y,w,h,conf,...) instead of the detector; a gt.txt with ids "
        "is reproduced as given, a det.txt (id -1) is linked by the tracker",
    )
    add_config_arguments(parser)
    det = parser.add_argument_group("detector (default: the config's video section)")
    det.add_argument("--detector", default=None, help="hog (default, OpenCV's people detector), motion, or onnx")
    det.add_argument("--detector-model", default=None, metavar="FILE.onnx", help="onnx: a YOLO-style person detector")
    det.add_argument("--min-height", type=float, default=None, help="hog: shortest person in px (upscales below 96)")
    det.add_argument("--hog-scale", type=float, default=None, help="hog: pyramid step (default 1.1)")
    det.add_argument("--hit-threshold", type=float, default=None, help="hog: least SVM score of a window")
    det.add_argument("--nms-iou", type=float, default=None, help="hog / onnx: NMS overlap")
    det.add_argument("--win-stride", type=int, default=None, help="hog: window step in px")
    det.add_argument("--score-threshold", type=float, default=None, help="onnx: least person score")
    det.add_argument("--detector-layout", default=None, choices=("yolov8", "yolov5"), help="onnx: output layout")
    det.add_argument("--person-class", type=int, default=None, help="onnx: the person's class index (COCO: 0)")
    det.add_argument("--detect-every", type=int, default=None, help="run the detector every k-th frame only")
    trk = parser.add_argument_group("tracker")
    trk.add_argument("--tracker", default=None, choices=("byte", "iou"), help="byte (two-stage, default) or iou")
    trk.add_argument("--high-score", type=float, default=None, help="byte: first-stage score")
    trk.add_argument("--low-score", type=float, default=None, help="byte: least second-stage score")
    trk.add_argument("--iou", type=float, default=None, help="least IoU to link a box to a track")
    trk.add_argument("--max-age", type=int, default=None, help="frames a lost track is kept")
    trk.add_argument("--min-hits", type=int, default=None, help="frames before a new track is trusted")
    trk.add_argument("--max-gap", type=int, default=None, help="byte: longest gap bridged by interpolation")
    trk.add_argument("--relink-gap", type=int, default=None, help="--relink: longest gap (frames) it may join")
    trk.add_argument(
        "--relink",
        default=None,
        metavar="MODEL",
        help="join tracks broken by an occlusion when appearance and motion agree: 'histogram' (colour histograms, "
        "no model) or a checkpoint `m3dreid index` can use",
    )
    parser.add_argument("--camid", type=int, default=1, help="camera id written into the crop names and CSV")
    parser.add_argument("--min-score", type=float, default=None, help="drop MOT rows whose conf is below this")
    parser.add_argument("--height", type=int, default=256, help="crop height (MARS: 256); 0 keeps box size")
    parser.add_argument("--width", type=int, default=128, help="crop width (MARS: 128)")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    parser.add_argument("--no-sheet", action="store_true", help="no contact sheet (OUT/tracks.jpg)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--overwrite", action="store_true", help="replace the tracklets of an existing output folder")


def video_settings(args: argparse.Namespace):
    """The ``video`` config section with the flags given on the command line applied over it."""
    from m3dreid.cli._common import config_from_args

    video = config_from_args(args).video
    given = {key: getattr(args, flag) for flag, key in _FLAGS.items() if getattr(args, flag, None) is not None}
    return dataclasses.replace(video, **given)


def run(args: argparse.Namespace) -> int:
    from m3dreid.config import ConfigError
    from m3dreid.errors import prepare_output
    from m3dreid.video import GivenIdTracker, MotFormatError, MotReplay, VideoError, build_tracklets, read_mot
    from m3dreid.video.crops import OUTPUT_FILES
    from m3dreid.video.onnx_detector import DetectorError
    from m3dreid.video.setup import build_detector, build_tracker

    prepare_output(args.out, overwrite=args.overwrite, inputs=[args.video, args.detections], owned=OUTPUT_FILES)
    try:
        video = video_settings(args)
        if args.detections:
            detector = MotReplay(read_mot(args.detections), min_score=args.min_score)
            name = f"mot:{args.detections}"
        else:
            detector = build_detector(video)
            name = video.detector
        if isinstance(detector, MotReplay) and detector.has_ids:
            tracker = GivenIdTracker()
        else:
            tracker = build_tracker(video)
    except (MotFormatError, DetectorError, ConfigError, KeyError, RuntimeError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)  # KeyError's str() adds quotes
        print(f"m3dreid tracklets: {message}", file=sys.stderr)
        return 2
    embed = None
    if args.relink:  # load the relink model first: a bad file fails before minutes of tracking
        from m3dreid.video.relink import tracklet_embedder
        from m3dreid.weights import CheckpointError

        try:
            embed = tracklet_embedder(args.relink)
        except (CheckpointError, FileNotFoundError, ValueError) as err:
            print(f"m3dreid tracklets: --relink: {err}", file=sys.stderr)
            return 2
    crop_size = (args.height, args.width) if args.height > 0 and args.width > 0 else None
    detect_every = video.detect_every if not isinstance(detector, MotReplay) else 1
    try:
        summary = build_tracklets(
            args.video,
            args.out,
            detector=detector,
            tracker=tracker,
            camid=args.camid,
            crop_size=crop_size,
            max_frames=args.max_frames,
            progress=not args.no_progress,
            detector_name=name,
            detect_every=detect_every,
        )
    except VideoError as err:
        print(f"m3dreid tracklets: {err}", file=sys.stderr)
        return 2
    if args.max_frames is None and isinstance(detector, MotReplay) and detector.last_frame > summary.frames_read:
        print(
            f"m3dreid tracklets: warning: {args.detections} has boxes up to frame {detector.last_frame}, "
            f"but {args.video} has only {summary.frames_read} frames",
            file=sys.stderr,
        )
    crops = sum(summary.tracks.values())
    print(f"{summary.frames_read} frames, {len(summary.tracks)} tracklets, {crops} crops -> {summary.out_dir}")
    if embed is not None and summary.tracks:
        _relink(args.out, video, embed)
    if summary.tracks and not args.no_sheet:
        print(f"contact sheet of all tracks -> {write_contact_sheet(summary.out_dir)}")
    return 0


def _relink(out_dir, video, embed) -> None:
    from m3dreid.video.relink import relink_folder

    result = relink_folder(out_dir, embed=embed, max_gap=video.relink_gap)
    joined = ", ".join(f"{b}->{a}" for a, b in result.joins) or "none"
    print(f"relink: {len(result.joins)} joins ({joined}), threshold {result.threshold_text}; "
          f"{result.tracks_before} -> {result.tracks_after} tracklets")  # fmt: skip


def write_contact_sheet(out_dir) -> Path:
    """``OUT/tracks.jpg``: one tile per track (its representative crop), labelled with the id and frame range."""
    from m3dreid.index.ranked_image import contact_sheet
    from m3dreid.index.tracklet_dirs import representative_frame
    from m3dreid.video.crops import read_tracks_csv

    tracks = read_tracks_csv(out_dir)
    paths = {t: [r["path"] for r in rows] for t, rows in tracks.items()}
    labels = {t: [f"track {t}", f"f{rows[0]['frame']}-{rows[-1]['frame']}"] for t, rows in tracks.items()}
    thumbs = {t: representative_frame(p) for t, p in paths.items()}
    return contact_sheet(paths, Path(out_dir) / "tracks.jpg", thumbnails=thumbs, labels=labels)
