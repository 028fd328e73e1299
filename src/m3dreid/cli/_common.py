"""Arguments shared by the commands that take a run configuration."""

from __future__ import annotations

import argparse

from m3dreid.config import Config, load_config


def add_config_arguments(parser: argparse.ArgumentParser, *, compute: bool = False) -> None:
    """``-c`` / ``--set``; with ``compute`` (train, eval, extract) also ``--dataset`` and ``--threads``."""
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
    if compute:
        parser.add_argument("--dataset", choices=dataset_choices(), default=None, metavar="NAME",
                            help="the dataset (data.dataset): %(choices)s")  # fmt: skip
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


class _RegistryNames:
    """argparse ``choices`` read from a registry when first used, so that building the parser imports no reader."""

    def __init__(self, names) -> None:
        self._names = names

    def __iter__(self):
        return iter(self._names())

    def __contains__(self, item: object) -> bool:
        return item in self._names()

    def __len__(self) -> int:
        return len(self._names())


def dataset_choices() -> _RegistryNames:
    """The registered dataset names (``m3dreid.data`` registers the readers), as lazy argparse choices."""

    def names() -> list[str]:
        from m3dreid.data import list_datasets

        return list_datasets()

    return _RegistryNames(names)


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (argparse turns the ValueError into a usage error, exit 2)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def config_from_args(args: argparse.Namespace) -> Config:
    """The config of ``-c``/``--set``; also applies ``--threads`` where the command has it."""
    threads = getattr(args, "threads", None)
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    dataset = getattr(args, "dataset", None)
    extra = [f"data.dataset={dataset}"] if dataset else []
    return load_config(args.config, [*extra, *args.overrides])


def explicit_config_keys(args: argparse.Namespace) -> set[str]:
    """The dotted config keys the user set (in the ``-c`` file or with ``--set``): only those may contradict a
    checkpoint's saved config; the rest of a trained model's architecture comes from the checkpoint."""
    from m3dreid.config import explicit_keys

    return explicit_keys(args.config, args.overrides)
