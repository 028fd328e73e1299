"""``m3dreid show-config``: print the resolved config (defaults < YAML < --set) as YAML."""

from __future__ import annotations

import argparse

from m3dreid.cli._common import add_config_arguments, config_from_args

HELP = "print the resolved configuration"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from m3dreid.config import dump_config

    print(dump_config(config_from_args(args)), end="")
    return 0
