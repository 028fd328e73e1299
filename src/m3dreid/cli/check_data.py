"""``m3dreid check-data -c CONFIG``: read a config's dataset as training and evaluation will, and say what it holds.

Every problem of the folder (missing or malformed name lists and .mat files, frames listed but absent) is the same
one-line error that ``train`` or ``eval`` would give, found in seconds instead of after model building. ``--frames``
also decodes every frame (truncated or undecodable images are counted and the first is named).
"""

from __future__ import annotations

import argparse

from m3dreid.cli._common import add_config_arguments, config_from_args

HELP = "read a config's dataset (and with --frames decode every frame) and print what it holds"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--frames", action="store_true", help="decode every frame too (reports truncated images)")


def run(args: argparse.Namespace) -> int:
    from m3dreid.data import DatasetError, dataset_from_config
    from m3dreid.data.transforms import read_frame

    config = config_from_args(args)
    dataset = dataset_from_config(config.data)
    print(dataset.summary())
    if not args.frames:
        return 0
    paths = sorted({p for split in (dataset.train, dataset.query, dataset.gallery) for t in split for p in t.frames})
    bad: list[str] = []
    for path in paths:
        try:
            read_frame(path, config.data.height, config.data.width)
        except DatasetError as err:
            bad.append(str(err))
    if bad:
        raise DatasetError(f"{len(bad)} of {len(paths)} frames cannot be used; the first: {bad[0]}")
    print(f"all {len(paths)} frames decode")
    return 0
