"""``m3dreid tracklets VIDEO --out DIR``: detect and track people in a video and write MARS-like tracklet crops."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "cut person tracklets out of a video (detector + tracker, or given MOT det/gt boxes)"


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
    parser.add_argument(
        "--detector", default="hog", help="built-in detector: hog (default, OpenCV's people detector) or motion"
    )
    parser.add_argument("--camid", type=int, default=1, help="camera id written into the crop names and CSV")
    parser.add_argument("--min-score", type=float, default=None, help="drop MOT rows whose conf is below this")
    parser.add_argument("--height", type=int, default=256, help="crop height (MARS: 256); 0 keeps box size")
    parser.add_argument("--width", type=int, default=128, help="crop width (MARS: 128)")
    parser.add_argument("--iou", type=float, default=0.2, help="tracker: least IoU to link a box to a track")
    parser.add_argument("--max-age", type=int, default=15, help="tracker: frames a lost track is kept")
    parser.add_argument("--min-hits", type=int, default=3, help="tracker: frames before a new track is trusted")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from m3dreid.video import (
        GivenIdTracker,
        IouKalmanTracker,
        MotFormatError,
        MotReplay,
        VideoError,
        build_tracklets,
        create_detector,
        read_mot,
    )

    try:
        if args.detections:
            detector = MotReplay(read_mot(args.detections), min_score=args.min_score)
            name = f"mot:{args.detections}"
        else:
            detector = create_detector(args.detector)
            name = args.detector
    except (MotFormatError, KeyError, RuntimeError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)  # KeyError's str() adds quotes
        print(f"m3dreid tracklets: {message}", file=sys.stderr)
        return 2
    if isinstance(detector, MotReplay) and detector.has_ids:
        tracker = GivenIdTracker()
    else:
        tracker = IouKalmanTracker(iou_threshold=args.iou, max_age=args.max_age, min_hits=args.min_hits)
    crop_size = (args.height, args.width) if args.height > 0 and args.width > 0 else None
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
    if summary.tracks:
        print(f"contact sheet of all tracks -> {write_contact_sheet(summary.out_dir)}")
    return 0


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
