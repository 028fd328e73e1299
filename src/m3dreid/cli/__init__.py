"""``m3dreid`` command line: one subcommand per module of this package (``m3dreid.cli.train``, ...).

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. A command whose
module does not exist yet is listed but says so and exits non-zero: it never pretends to work. The command modules
import heavy libraries inside ``run`` so that ``m3dreid --help`` stays fast; they print their results to stdout
(this package is the command line, the library below it logs).

Errors: every user error (config, data, files, arguments) is a :class:`m3dreid.errors.UserError` (or an ``OSError``
naming a file), raised anywhere below and caught once, here: one line ``m3dreid COMMAND: message`` on stderr, exit
status 2, the traceback only with ``-v``. Any other exception is a programming error and keeps its traceback.
Ctrl-C exits with status 130 (``train`` saves a checkpoint first).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys
import traceback

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
    "cache": "cache",
    "make-synthetic": "make_synthetic",
    "make-scene": "make_scene",
    "make-people": "make_people",
    "make-folder-dataset": "make_folder_dataset",
    "check-data": "check_data",
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


def user_error_message(err: BaseException) -> str | None:
    """The one-line message of a user error, or None for a programming error (which keeps its traceback)."""
    from m3dreid.errors import UserError, disk_full_error

    if isinstance(err, UserError):
        message = str(err.args[0]) if len(err.args) == 1 else str(err)
    elif isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        message = str(disk_full_error(err.filename or ".", kept=""))
    elif isinstance(err, OSError) and err.filename is not None:  # a file the user named: missing, a folder, ...
        message = f"{err.filename}: {err.strerror or err}"
    else:
        return None
    return " ".join(message.split())  # one line, whatever the message held


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"m3dreid {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        message = user_error_message(err)
        if message is None:
            raise
        if args.verbose:
            traceback.print_exc()
        print(f"m3dreid {args.command}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
