"""``m3dreid experiment``: rerun a table of the paper, write docs/results.md, or draw saliency maps of runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from m3dreid.cli._common import dataset_choices
from m3dreid.errors import UserError

HELP = "rerun a paper table (table1..table5, datasets), write docs/results.md (docs), or saliency maps (saliency)"

TABLE_NAMES = ("table1", "table2", "table3", "table4", "table5", "datasets")
DATA_CHOICES = dataset_choices()  # the registered datasets, read when --help or a value asks for them


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=(*TABLE_NAMES, "docs", "saliency"), help="a table, docs, or saliency")
    parser.add_argument(
        "--data", choices=DATA_CHOICES, default="synthetic", metavar="NAME", help="dataset: %(choices)s"
    )
    parser.add_argument("--root", default=None, help="dataset folder (synthetic: generated here when missing)")
    parser.add_argument("--size", choices=("tiny", "small"), default="small", help="synthetic scale")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds (default: config set)")
    parser.add_argument("--splits", type=int, nargs="+", default=None, help="PRID2011 / iLIDS-VID splits (default 0-9)")
    parser.add_argument("--rows", nargs="+", default=None, help="only these row keys (e.g. resnet50 m3d)")
    parser.add_argument("--tables", nargs="+", default=None, choices=TABLE_NAMES, help="docs: only these tables")
    parser.add_argument("--out", default=None, help="results folder (docs: where results.md goes, default docs/)")
    parser.add_argument("--work", default="runs/experiments", help="docs: run cache folder")
    parser.add_argument("--experiments", default=None, help="folder of the config sets (default: experiments/)")
    parser.add_argument("--fps-seconds", type=float, default=1.0, help="seconds of timing per frames/s measurement")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained in parallel processes (1 thread each)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads of this process (small CPU models: 1 is fastest)"
    )
    parser.add_argument("--run", dest="runs", action="append", default=[], help="saliency: a run folder (repeat)")
    parser.add_argument("--count", type=int, default=4, help="saliency: number of query tracklets")
    parser.add_argument("--frames", type=int, default=8, help="saliency: frames a tracklet strip")


def _config_sets(folder: str | None):
    from m3dreid.experiments import default_experiments_dir, load_config_set

    base = Path(folder) if folder else default_experiments_dir()
    return {name: load_config_set(base / f"{name}.yaml") for name in TABLE_NAMES}


def _run_table(args: argparse.Namespace) -> int:
    from m3dreid.experiments import get_table, run_table, table_markdown, write_table_files

    spec = get_table(args.what)
    config_set = _config_sets(args.experiments)[args.what]
    out = Path(args.out or "runs/experiments")
    result = run_table(
        spec,
        config_set,
        data=args.data,
        root=args.root,
        out=out,
        size=args.size,
        seeds=args.seeds,
        splits=args.splits,
        rows=args.rows,
        fps_seconds=args.fps_seconds,
        workers=args.jobs,
    )
    path = write_table_files(spec, out, data=args.data)
    print(table_markdown(spec, {args.data: result}, synthetic=args.data == "synthetic"))
    print(f"written: {path} ({result['wall_seconds']:.0f} s)")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from m3dreid.experiments import saliency_for_docs, write_results_page

    work = Path(args.work)
    command = "m3dreid " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["experiment"] else "m3dreid experiment docs"
    path = write_results_page(
        config_sets=_config_sets(args.experiments),
        out=Path(args.out or "docs"),
        work=work,
        size=args.size,
        seeds=args.seeds,
        command=command,
        workers=args.jobs,
        tables=args.tables or TABLE_NAMES,
        root=Path(args.root) if args.root else None,
        saliency=lambda figures, results: saliency_for_docs(results.get("table3"), figures),
    )
    print(f"written: {path}")
    return 0


def _saliency(args: argparse.Namespace) -> int:
    from m3dreid.experiments import saliency_for_runs

    if not args.runs:
        raise UserError("saliency: give at least one --run RUN_FOLDER")
    out = Path(args.out or Path(args.runs[0]) / "saliency")
    means = saliency_for_runs([Path(r) for r in args.runs], out, count=args.count, frames=args.frames)
    for name, value in means.items():
        print(f"{name}: mean motion overlap {value['motion_overlap']:+.3f}, lower share {value['lower_share']:.3f}")
    print(f"written: {out / 'index.html'}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.what == "docs":
        return _docs(args)
    if args.what == "saliency":
        return _saliency(args)
    return _run_table(args)
