"""``m3dreid make-synthetic``: write the synthetic walking-people dataset in the MARS layout."""

from __future__ import annotations

import argparse

HELP = "generate a synthetic video re-id dataset (MARS layout, deterministic from --seed; two generator families)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (must be empty or missing, unless --overwrite)")
    parser.add_argument("--family", default="walkers", choices=("walkers", "limbs"),
                        help="generator: walkers (groups of 3, scrolling background) or limbs (articulated figures, "
                        "groups of 4, fixed biased cameras); see m3dreid.data.families")  # fmt: skip
    parser.add_argument("--size", default="small", choices=("tiny", "small", "full"), help="dataset size")
    parser.add_argument("--seed", type=int, default=0, help="same seed -> byte-identical files")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering in parallel (same output)")
    parser.add_argument("--overwrite", action="store_true", help="replace the dataset in an existing output folder")


def run(args: argparse.Namespace) -> int:
    from m3dreid.data import create_dataset
    from m3dreid.data.families import make_family

    out = make_family(
        args.family, args.out, size=args.size, seed=args.seed, workers=args.workers, overwrite=args.overwrite
    )
    print(create_dataset("synthetic", out).summary())
    return 0
