"""``m3dreid eval``: whole-tracklet features of query and gallery, metrics under the dataset's protocol(s), results.

The work is :func:`m3dreid.tasks.evaluate.evaluate_run`'s (features to ``RUN/features.npz``, metrics to
``RUN/results.json``); this module parses the arguments and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from m3dreid.cli._common import add_config_arguments, config_from_args, explicit_config_keys

HELP = "evaluate a trained model: whole-tracklet features, CMC/mAP/mINP (both MARS protocols), optional re-ranking"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, compute=True)
    help_ckpt = "trained weights (default: model.checkpoint, else OUTPUT_DIR/model.pt or last.pt)"
    parser.add_argument("--checkpoint", default=None, help=help_ckpt)
    parser.add_argument("--out", default=None, help="run folder for features.npz, results.json (default: output_dir)")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the config's train.device)")
    parser.add_argument("--rerank", action="store_true", help="also report k-reciprocal re-ranking (eval.k1/k2/...)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def results_table(rows: list[tuple[str, str, Any]]) -> str:
    """Markdown table of ``(run, label, RankingResult)`` rows, in percent."""
    lines = ["| run | result | R1 | R5 | R10 | R20 | mAP | mINP | queries valid/no match |", "|---" * 9 + "|"]
    for run, label, r in rows:
        ranks = " | ".join(f"{100 * r.rank(k):.1f}" if k <= len(r.cmc) else "-" for k in (1, 5, 10, 20))
        lines.append(f"| {run} | {label} | {ranks} | {100 * r.mAP:.1f} | {100 * r.mINP:.1f} | "
                     f"{r.num_valid_queries}/{r.num_no_match} |")  # fmt: skip
    return "\n".join(lines)


def groups_table(run_dir: str | Path) -> str:
    """Markdown table of the per-group mAP (percent) of each result in ``run_dir/results.json``; '' without groups."""
    from m3dreid.report.runs import read_results

    entries = {label: entry["groups"] for label, entry in read_results(run_dir).get("results", {}).items()
               if entry.get("groups")}  # fmt: skip
    if not entries:
        return ""
    kinds = list(dict.fromkeys(kind for groups in entries.values() for kind in groups))
    lines = ["| result | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for label, groups in entries.items():
        cells = [f"{100 * groups[k]:.1f}" if groups.get(k) is not None else "-" for k in kinds]  # None: no match
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from m3dreid.tasks.evaluate import evaluate_run

    config = config_from_args(args)
    run_dir = Path(args.out or config.output_dir)
    results = evaluate_run(
        config,
        checkpoint=args.checkpoint,
        run_dir=run_dir,
        device=args.device,
        rerank=True if args.rerank else None,
        progress=not args.no_progress and sys.stderr.isatty(),
        check_config=explicit_config_keys(args),
    )
    print(results_table([(run_dir.name, label, result) for label, result in results.items()]))
    table = groups_table(run_dir)
    if table:
        print("per identity group (info/groups.json), mAP:")
        print(table)
    print(f"features and results in {run_dir} (re-rank without the network: m3dreid rerank {run_dir})")
    return 0
