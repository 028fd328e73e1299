"""``m3dreid report``: an HTML page with PNGs (results table, CMC curves, training curves, ranked lists) of runs."""

from __future__ import annotations

import argparse

HELP = "write an HTML + PNG report of one or more run folders"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders (results.json, train_log.csv, ...)")
    parser.add_argument("--out", required=True, help="folder for index.html and the PNGs")
    parser.add_argument("--queries", type=int, default=4, help="queries shown as ranked lists per run")
    parser.add_argument("--top-k", type=int, default=10, help="gallery tracklets per ranked list")
    parser.add_argument("--overwrite", action="store_true", help="replace the report in an existing folder")


def run(args: argparse.Namespace) -> int:
    from m3dreid.errors import prepare_output
    from m3dreid.report import REPORT_FILES, build_report, read_run, results_markdown

    prepare_output(args.out, overwrite=args.overwrite, inputs=args.runs, owned=REPORT_FILES)
    page = build_report(args.runs, args.out, num_queries=args.queries, top_k=args.top_k)
    print(results_markdown([read_run(r) for r in args.runs]))
    print(f"report: {page}")
    return 0
