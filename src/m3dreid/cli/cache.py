"""``m3dreid cache``: decode a dataset once at the training size into a packed, memory-mapped frame cache."""

from __future__ import annotations

import argparse
import sys

from m3dreid.cli._common import add_config_arguments, config_from_args

HELP = "decode a dataset's frames once at data.height x data.width into one memory-mapped file (data.cache=FILE)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--out", required=True, help="the cache file to write")
    parser.add_argument(
        "--splits",
        default="train",
        choices=("train", "test", "all"),
        help="which tracklets: train (what the training loader reads), test (query + gallery) or all",
    )
    parser.add_argument("--workers", type=int, default=1, help="decoding processes")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from m3dreid.config import ConfigError
    from m3dreid.data import dataset_from_config
    from m3dreid.data.base import DatasetError
    from m3dreid.data.frame_cache import SPLITS, build_frame_cache

    try:
        config = config_from_args(args)
        dataset = dataset_from_config(config.data)
    except (ConfigError, DatasetError) as err:
        print(f"m3dreid cache: {err}", file=sys.stderr)
        return 2
    data = config.data
    frames = sum(len(t.frames) for split in SPLITS[args.splits] for t in getattr(dataset, split))
    per_frame = data.height * data.width * 3
    print(f"{dataset.summary()}")
    print(f"caching {args.splits}: up to {frames:,} frames x {per_frame:,} bytes ({data.width}x{data.height} RGB) "
          f"= {frames * per_frame / 1e9:.2f} GB (tracklets listed twice are stored once)")  # fmt: skip
    bar = tqdm(total=frames, unit="frame", disable=args.no_progress or not sys.stderr.isatty())
    try:
        path = build_frame_cache(
            dataset, data, args.out, splits=args.splits, workers=args.workers, overwrite=args.overwrite,
            progress=bar.update,
        )  # fmt: skip
    except (FileExistsError, DatasetError, ValueError) as err:
        bar.close()
        print(f"m3dreid cache: {err}", file=sys.stderr)
        return 2
    bar.close()
    print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB); train from it with --set data.cache={path}")
    return 0
