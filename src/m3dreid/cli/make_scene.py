"""``m3dreid make-scene``: render a synthetic multi-camera street scene (videos + MOT ground truth + scene.json)."""

from __future__ import annotations

import argparse

HELP = "render synthetic street videos of people walking through several cameras, with their ground-truth tracks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (must be empty or missing, unless --overwrite)")
    parser.add_argument("--cameras", type=int, default=2, help="number of camera views")
    parser.add_argument("--people", type=int, default=6, help="number of people")
    parser.add_argument("--frames", type=int, default=150, help="frames per camera video (25 frames/s)")
    parser.add_argument("--height", type=int, default=240, help="frame height in pixels")
    parser.add_argument("--width", type=int, default=320, help="frame width in pixels")
    parser.add_argument("--seed", type=int, default=0, help="same seed -> same videos")
    parser.add_argument("--overwrite", action="store_true", help="replace the scene in an existing output folder")


def run(args: argparse.Namespace) -> int:
    from m3dreid.video.scene import render_multicamera_scene

    scene = render_multicamera_scene(
        args.out,
        cameras=args.cameras,
        people=args.people,
        frames=args.frames,
        size=(args.height, args.width),
        seed=args.seed,
        overwrite=args.overwrite,
    )
    persons = len({t["person"] for t in scene.tracks})
    print(f"{scene.root}: {len(scene.videos)} camera videos, {len(scene.tracks)} tracks of {persons} people")
    for video, gt in zip(scene.videos, scene.gt, strict=True):
        print(f"  {video.name}  ground truth {gt.name}")
    return 0
