"""Arguments shared by the commands that take a run configuration."""

from __future__ import annotations

import argparse

from m3dreid.config import Config, load_config


def add_config_arguments(parser: argparse.ArgumentParser, *, threads: bool = False) -> None:
    parser.add_argument(
        "--config", "-c", default=None, help="YAML config: a path, or the name of a packaged config (cpu_demo_m3d)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.lr=0.01 or --set model.kwargs.global_act=gelu (repeatable)",
    )
    if threads:
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def config_from_args(args: argparse.Namespace) -> Config:
    """The config of ``-c``/``--set``; also applies ``--threads`` where the command has it."""
    threads = getattr(args, "threads", None)
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    return load_config(args.config, args.overrides)


def config_given(args: argparse.Namespace) -> bool:
    """Whether the user gave a config at all (a file or ``--set``): only then may it contradict a checkpoint."""
    return bool(args.config or args.overrides)
