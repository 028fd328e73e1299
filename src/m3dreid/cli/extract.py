"""``m3dreid extract``: whole-tracklet features of a dataset's query and gallery, saved to RUN/features.npz."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from m3dreid.cli._common import add_config_arguments, config_from_args, explicit_config_keys

HELP = "extract whole-tracklet query/gallery features with a trained model (to RUN/features.npz)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, compute=True)
    parser.add_argument(
        "--checkpoint", default=None, help="trained weights (default: model.checkpoint, else the run's own)"
    )
    parser.add_argument("--out", default=None, help="run folder or .npz file (default: OUTPUT_DIR/features.npz)")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the config's train.device)")
    parser.add_argument("--chunk-size", type=int, default=None, help="frames through the network at once")
    parser.add_argument("--flip", action="store_true", default=None, help="average with mirrored frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing features file")


def run(args: argparse.Namespace) -> int:
    from m3dreid.errors import prepare_output
    from m3dreid.report.runs import FEATURES_FILE
    from m3dreid.tasks.evaluate import extract_split

    config = config_from_args(args)
    ev = config.eval
    if args.chunk_size is not None or args.flip is not None:
        ev = dataclasses.replace(
            ev, chunk_size=args.chunk_size or ev.chunk_size, flip=bool(args.flip) if args.flip is not None else ev.flip
        )
        config = dataclasses.replace(config, eval=ev)
    out = Path(args.out) if args.out else Path(config.output_dir)
    target = out if out.suffix == ".npz" else out / FEATURES_FILE
    prepare_output(target, overwrite=args.overwrite, inputs=[args.checkpoint or config.model.checkpoint])
    features, path = extract_split(
        config,
        checkpoint=args.checkpoint,
        device=args.device,
        progress=not args.no_progress,
        out=args.out,
        check_config=explicit_config_keys(args),
    )
    print(f"{len(features.q_pids)} query + {len(features.g_pids)} gallery features of size "
          f"{features.q_feats.shape[1]} -> {path}")  # fmt: skip
    print(f"evaluate / re-rank them without the network: m3dreid rerank {path}")
    return 0
