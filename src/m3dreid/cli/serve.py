"""``m3dreid serve INDEX``: browse an index in a web page (pick a person, see where else they walk); ``--export``
writes the same pages for chosen queries as static files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "browse an index in a local web page: tracks, ranked matches, timeline, marks (or --export static pages)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("index", help="index folder written by `m3dreid index`")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--export", default=None, metavar="DIR", help="write static pages here instead of serving")
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="CAM:TRACK",
        help="with --export: a track to write the person and timeline pages of (repeatable; 'all' for every track)",
    )
    parser.add_argument("-k", type=int, default=20, help="with --export: matches on each person page")
    parser.add_argument("--overwrite", action="store_true", help="with --export: write into a non-empty DIR")


def run(args: argparse.Namespace) -> int:
    from m3dreid.serve import ServeError, create_app, export_pages

    if args.export:
        out = Path(args.export)
        if not args.query:
            print("m3dreid serve: --export needs at least one --query CAM:TRACK (or --query all)", file=sys.stderr)
            return 2
        if out.exists() and any(out.iterdir()) and not args.overwrite:
            print(f"m3dreid serve: {out} is not empty (add --overwrite to write into it)", file=sys.stderr)
            return 2
        try:
            pages = export_pages(args.index, out, args.query, k=args.k)
        except (ServeError, ValueError) as err:
            print(f"m3dreid serve: {err}", file=sys.stderr)
            return 2
        print(f"{len(pages)} pages -> {out / 'index.html'}")
        return 0
    try:
        app = create_app(args.index, host=args.host)
    except (ServeError, ValueError) as err:
        print(f"m3dreid serve: {err}", file=sys.stderr)
        return 2
    catalog = app.config["CATALOG"]
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"m3dreid serve: listening on {args.host}: anyone who can reach this machine can see the footage")
    print(f"{len(catalog)} tracks of {len(catalog.videos)} videos -> http://{args.host}:{args.port}/  (Ctrl-C stops)")
    try:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    except OSError as err:
        print(f"m3dreid serve: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 2
    return 0
