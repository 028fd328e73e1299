"""``m3dreid extract``: whole-tracklet features of a dataset's query and gallery, saved to RUN/features.npz."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from m3dreid.cli._common import add_config_arguments, config_from_args

HELP = "extract whole-tracklet query/gallery features with a trained model (to RUN/features.npz)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--checkpoint", default=None, help="trained weights (default: the config's model.checkpoint)")
    parser.add_argument("--out", default=None, help="run folder or .npz file (default: OUTPUT_DIR/features.npz)")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the config's train.device)")
    parser.add_argument("--chunk-size", type=int, default=None, help="frames through the network at once")
    parser.add_argument("--flip", action="store_true", default=None, help="average with mirrored frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from m3dreid.data import dataset_from_config
    from m3dreid.data.loader import load_frames
    from m3dreid.engine.checkpoint import CheckpointError
    from m3dreid.engine.run import load_for_eval
    from m3dreid.evaluation.features import features_from_dataset, save_features
    from m3dreid.report.runs import FEATURES_FILE

    config = config_from_args(args)
    ev = config.eval
    if args.chunk_size is not None or args.flip is not None:
        ev = dataclasses.replace(
            ev, chunk_size=args.chunk_size or ev.chunk_size, flip=bool(args.flip) if args.flip is not None else ev.flip
        )
    out = Path(args.out) if args.out else Path(config.output_dir)
    path = out if out.suffix == ".npz" else out / FEATURES_FILE
    try:
        dataset = dataset_from_config(config.data)
        model = load_for_eval(config, checkpoint=args.checkpoint, device=args.device)
    except (CheckpointError, OSError, ValueError, KeyError) as err:
        print(f"m3dreid extract: {err}", file=sys.stderr)
        return 1
    device = next(model.parameters()).device
    features = features_from_dataset(
        model,
        dataset,
        load_frames_fn=lambda tracklet, indices: load_frames(tracklet, config.data, indices),
        chunk_size=ev.chunk_size,
        device=device,
        flip=ev.flip,
        amp=config.train.amp,
        progress=not args.no_progress,
        meta={
            "model": config.model.name,
            "checkpoint": str(args.checkpoint or config.model.checkpoint),
            "metric": ev.distance,
            "chunk_size": ev.chunk_size,
            "flip": ev.flip,
        },
    )
    save_features(features, path)
    print(f"{len(features.q_pids)} query + {len(features.g_pids)} gallery features of size "
          f"{features.q_feats.shape[1]} -> {path}")  # fmt: skip
    print(f"evaluate / re-rank them without the network: m3dreid rerank {path}")
    return 0
