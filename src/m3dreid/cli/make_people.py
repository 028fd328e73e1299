"""``m3dreid make-people``: write the procedural-people pretraining dataset (MARS layout, ``m3dreid.data.people``)."""

from __future__ import annotations

import argparse
import sys

HELP = "generate procedural people (random outfits, bodies, views, light, occlusion) for pretraining (MARS layout)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (must not exist or be empty)")
    parser.add_argument("--train-ids", type=int, default=2000, help="training identities")
    parser.add_argument("--test-ids", type=int, default=200, help="held-out test identities")
    parser.add_argument("--cameras", type=int, default=6, help="cameras (each identity is seen by 2 or 3)")
    parser.add_argument("--height", type=int, default=64, help="crop height")
    parser.add_argument("--width", type=int, default=32, help="crop width")
    parser.add_argument("--seed", type=int, default=0, help="same seed -> byte-identical files")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering in parallel (same output)")


def run(args: argparse.Namespace) -> int:
    from m3dreid.data import create_dataset
    from m3dreid.data.people import make_people

    try:
        out = make_people(args.out, train_ids=args.train_ids, test_ids=args.test_ids, cameras=args.cameras,
                          height=args.height, width=args.width, seed=args.seed, workers=args.workers)  # fmt: skip
    except (FileExistsError, ValueError) as err:
        print(f"m3dreid make-people: {err}", file=sys.stderr)
        return 2
    print(create_dataset("synthetic", out).summary())
    return 0
