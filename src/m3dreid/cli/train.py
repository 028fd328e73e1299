"""``m3dreid train``: train the model of a config (or assemble a two-stream model from two trained streams)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from m3dreid.cli._common import add_config_arguments, config_from_args

HELP = "train a model from a config (two-stream configs assemble their streams' checkpoints instead)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, compute=True)
    parser.add_argument("--out", default=None, help="run folder (default: the config's output_dir)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CHECKPOINT",
        help="continue a run: from RUN/last.pt, or from the CHECKPOINT given (e.g. RUN/last.prev.pt)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start a new run in a folder that holds one (its checkpoints, log and results are removed first)",
    )
    parser.add_argument("--eval", action="store_true", help="evaluate the trained model (as `m3dreid eval`) at the end")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from m3dreid.errors import UserError, prepare_output
    from m3dreid.models.build import ASSEMBLY_KEYS
    from m3dreid.tasks.train import (
        MODEL_FILE,
        RUN_FILES,
        TrainingInterrupted,
        assemble_two_stream,
        is_assembly,
        is_main_process,
        train,
    )

    config = config_from_args(args)
    if args.out:
        config = dataclasses.replace(config, output_dir=args.out)
    if args.resume and args.overwrite:
        raise UserError("--resume continues a run and --overwrite starts a new one: give one of them")
    if is_assembly(config):
        out = Path(config.output_dir) / MODEL_FILE
        streams = [config.model.kwargs.get(key) for key in ASSEMBLY_KEYS]
        prepare_output(out, overwrite=args.overwrite, inputs=streams)
        path = assemble_two_stream(config, out=out)
        print(f"assembled two-stream model: {path}")
        print(f"evaluate it with: m3dreid eval -c {path.parent / 'config.yaml'}")
        return 0
    if config.train.epochs <= 0:
        raise UserError(
            "train.epochs is 0, nothing to train (a two-stream config needs "
            "--set model.kwargs.spatial_checkpoint=... --set model.kwargs.temporal_checkpoint=...)"
        )
    if not args.resume:
        prepare_output(
            config.output_dir,
            overwrite=args.overwrite,
            inputs=[config.model.checkpoint, config.model.pretrained],
            hint="it holds a run: pass --resume to continue it, or --overwrite to start a new one",
            owned=RUN_FILES,
        )
    try:
        result = train(config, resume=args.resume)
    except TrainingInterrupted as stop:
        print(f"m3dreid train: {stop}; resume with --resume (checkpoint in {config.output_dir})", file=sys.stderr)
        return 128 + stop.signum
    if not is_main_process():  # under torchrun every rank returns here; only rank 0 reports (and evaluates)
        return 0
    print(f"trained {result.epochs_done} epochs ({result.global_step} steps), loss {result.last_loss:.4f}, "
          f"accuracy {result.last_acc:.3f}; checkpoint {result.checkpoint}")  # fmt: skip
    if args.eval and result.checkpoint is not None:
        from m3dreid.cli.evaluate import results_table
        from m3dreid.tasks.evaluate import evaluate_run

        results = evaluate_run(config, checkpoint=result.checkpoint)
        print(results_table([(config.output_dir, label, r) for label, r in results.items()]))
    return 0
