"""``m3dreid make-folder-dataset``: your labelled ``m3dreid tracklets`` folders as a ``folder`` dataset."""

from __future__ import annotations

import argparse
import sys

HELP = "build a 'folder' dataset (train/query/gallery) from `m3dreid tracklets` folders and a CSV of identity labels"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tracklets", nargs="+", help="folders written by `m3dreid tracklets`")
    parser.add_argument("--labels", required=True, help="CSV: tracklets,track_id,pid,split (train|query|gallery)")
    parser.add_argument("--out", required=True, help="dataset folder to write (train with --set data.dataset=folder)")
    parser.add_argument("--overwrite", action="store_true", help="write into a folder that is not empty")


def run(args: argparse.Namespace) -> int:
    from m3dreid.data import DatasetError, create_dataset
    from m3dreid.tasks.folder_dataset import make_folder_dataset

    try:
        counts = make_folder_dataset(args.tracklets, args.labels, args.out, overwrite=args.overwrite)
        dataset = create_dataset("folder", args.out)
    except (DatasetError, FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"m3dreid make-folder-dataset: {err}", file=sys.stderr)
        return 2
    print(", ".join(f"{split} {n} tracklets" for split, n in counts.items()) + f" -> {args.out}")
    print(dataset.summary())
    print(f"train / evaluate: m3dreid train -c cpu_demo_m3d --set data.dataset=folder --set data.root={args.out}")
    return 0
