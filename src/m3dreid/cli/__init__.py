"""``m3dreid`` command line: one subcommand per module of this package (``m3dreid.cli.train``, ...).

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. A command whose
module does not exist yet is listed but says so and exits non-zero: it never pretends to work. The command modules
import heavy libraries inside ``run`` so that ``m3dreid --help`` stays fast; they print their results to stdout
(this package is the command line, the library below it logs).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

__all__ = ["COMMANDS", "build_parser", "main", "setup_logging"]

# name on the command line -> module in m3dreid.cli (one concept each), in the order --help lists them.
COMMANDS: dict[str, str] = {
    "train": "train",
    "eval": "evaluate",
    "extract": "extract",
    "rerank": "rerank",
    "report": "report",
    "demo": "demo",
    "experiment": "experiment",
    "make-synthetic": "make_synthetic",
    "make-scene": "make_scene",
    "make-people": "make_people",
    "make-folder-dataset": "make_folder_dataset",
    "tracklets": "tracklets",
    "index": "index",
    "search": "search",
    "serve": "serve",
    "adapt": "adapt",
    "export": "export",
    "list-models": "list_models",
    "show-config": "show_config",
}


def setup_logging(verbose: bool = False) -> None:
    """Configure the root logger once, for the CLI only (library code just calls logging.getLogger)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )


def _not_implemented(name: str):
    def run(args: argparse.Namespace) -> int:
        print(f"m3dreid {name}: not implemented yet", file=sys.stderr)
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="m3dreid", description="Video person re-identification (M3D and baselines)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(f"m3dreid.cli.{module_name}")
        except ModuleNotFoundError as err:
            if err.name != f"m3dreid.cli.{module_name}":
                raise
            cmd = sub.add_parser(name, help="(not implemented yet)")
            cmd.add_argument("rest", nargs=argparse.REMAINDER)
            cmd.set_defaults(func=_not_implemented(name))
            continue
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging(args.verbose)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
