"""``m3dreid list-models``: the registered model names."""

from __future__ import annotations

import argparse

HELP = "list the registered models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from m3dreid import list_models

    for name in list_models():
        print(name)
    return 0
