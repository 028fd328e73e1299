"""``m3dreid train``: train the model of a config (or assemble a two-stream model from two trained streams)."""

from __future__ import annotations

import argparse
import sys

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
    parser.add_argument("--eval", action="store_true", help="evaluate the trained model (as `m3dreid eval`) at the end")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from m3dreid.tasks.train import assemble_two_stream, is_assembly, is_main_process, train
    from m3dreid.weights import CheckpointError

    config = config_from_args(args)
    if args.out:
        config = dataclasses.replace(config, output_dir=args.out)
    try:
        if is_assembly(config):
            path = assemble_two_stream(config)
            print(f"assembled two-stream model: {path}")
            print(f"evaluate it with: m3dreid eval -c {path.parent / 'config.yaml'}")
            return 0
        if config.train.epochs <= 0:
            print("m3dreid train: train.epochs is 0, nothing to train (a two-stream config needs "
                  "--set model.kwargs.spatial_checkpoint=... --set model.kwargs.temporal_checkpoint=...)",
                  file=sys.stderr)  # fmt: skip
            return 2
        result = train(config, resume=args.resume)
    except CheckpointError as err:
        print(f"m3dreid train: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"m3dreid train: interrupted; resume with --resume (checkpoint in {config.output_dir})", file=sys.stderr)
        return 130
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
