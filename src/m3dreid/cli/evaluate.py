"""``m3dreid eval``: whole-tracklet features of query and gallery, metrics under the dataset's protocol(s), results.

Features go to ``RUN/features.npz`` (so ``m3dreid rerank`` / ``report`` can run again without the network) and the
metrics to ``RUN/results.json``. For datasets in the MARS layout both protocols are measured from one extraction:
the official gallery holds every test tracklet, the torchreid gallery is a subset of it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from m3dreid.cli._common import add_config_arguments, config_from_args

HELP = "evaluate a trained model: whole-tracklet features, CMC/mAP/mINP (both MARS protocols), optional re-ranking"

MARS_PROTOCOLS = ("official", "torchreid")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--checkpoint", default=None, help="trained weights (default: the config's model.checkpoint)")
    parser.add_argument("--out", default=None, help="run folder for features.npz, results.json (default: output_dir)")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the config's train.device)")
    parser.add_argument("--rerank", action="store_true", help="also report k-reciprocal re-ranking (eval.k1/k2/...)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _other_protocol_features(features: Any, config: Any, dataset: Any) -> tuple[str, Any] | None:
    """The features of the other MARS protocol, cut from those of the official (superset) gallery."""
    import dataclasses

    from m3dreid.data import dataset_from_config
    from m3dreid.evaluation.features import FeatureSet

    if config.data.dataset not in ("mars", "synthetic") or dataset.protocol != "official":
        return None
    other = dataset_from_config(dataclasses.replace(config.data, protocol="torchreid"))
    row = {t: i for i, t in enumerate(dataset.gallery)}
    if list(other.query) != list(dataset.query) or any(t not in row for t in other.gallery):
        return None
    keep = [row[t] for t in other.gallery]
    cut = {name: getattr(features, f"g_{name}")[keep] for name in ("feats", "pids", "camids", "lengths", "paths")}
    fields = {f.name: getattr(features, f.name) for f in dataclasses.fields(FeatureSet)}
    fields.update({f"g_{name}": value for name, value in cut.items()})
    fields.update(junk_pids=tuple(sorted(other.junk_pids)), ap_definition=other.ap_definition)
    return other.protocol, FeatureSet(**fields)


def evaluate_run(
    config: Any,
    *,
    checkpoint: str | Path | None = None,
    run_dir: str | Path | None = None,
    device: str | None = None,
    rerank: bool | None = None,
    progress: bool = False,
    dataset: Any = None,
) -> dict[str, Any]:
    """Extract, save and evaluate; returns ``label -> RankingResult`` (label = metric, '+rerank', '(protocol)')."""
    from m3dreid.data import dataset_from_config
    from m3dreid.data.loader import load_frames
    from m3dreid.engine.run import load_for_eval
    from m3dreid.evaluation.evaluate import eval_settings, evaluate_features
    from m3dreid.evaluation.features import features_from_dataset, save_features
    from m3dreid.evaluation.groups import group_map
    from m3dreid.report.runs import FEATURES_FILE, write_results

    ev = config.eval
    run_dir = Path(run_dir or config.output_dir)
    dataset = dataset if dataset is not None else dataset_from_config(config.data)
    model = load_for_eval(config, checkpoint=checkpoint, device=device)
    features = features_from_dataset(
        model,
        dataset,
        load_frames_fn=lambda tracklet, indices: load_frames(tracklet, config.data, indices),
        chunk_size=ev.chunk_size,
        device=next(model.parameters()).device,
        flip=ev.flip,
        amp=config.train.amp,
        progress=progress,
        meta={"model": config.model.name, "checkpoint": str(checkpoint or config.model.checkpoint)},
    )
    save_features(features, run_dir / FEATURES_FILE)
    sets = [(dataset.protocol, features)]
    other = _other_protocol_features(features, config, dataset)
    if other is not None:
        sets.append(other)
    results = {}
    for index, (protocol, feats) in enumerate(sets):
        for rr in (False, True) if (ev.rerank if rerank is None else rerank) else (False,):
            label = ev.distance + ("+rerank" if rr else "") + (f" ({protocol} protocol)" if index else "")
            result = evaluate_features(feats, rerank=rr, device=device or "auto", **eval_settings(ev))
            extra = {"metric": ev.distance, "rerank": rr, "protocol": protocol, "dataset": dataset.name}
            groups = group_map(result, feats.q_pids, config.data.root)  # {} unless the data set defines groups
            if groups:
                extra["groups"] = groups
            write_results(run_dir, result, label=label, extra=extra)
            results[label] = result
    return results


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
    from m3dreid.data import DatasetError
    from m3dreid.engine.checkpoint import CheckpointError

    config = config_from_args(args)
    run_dir = Path(args.out or config.output_dir)
    try:
        results = evaluate_run(
            config,
            checkpoint=args.checkpoint,
            run_dir=run_dir,
            device=args.device,
            rerank=True if args.rerank else None,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except (CheckpointError, DatasetError, OSError) as err:
        print(f"m3dreid eval: {err}", file=sys.stderr)
        return 1
    print(results_table([(run_dir.name, label, result) for label, result in results.items()]))
    table = groups_table(run_dir)
    if table:
        print("per identity group (info/groups.json), mAP:")
        print(table)
    print(f"features and results in {run_dir} (re-rank without the network: m3dreid rerank {run_dir})")
    return 0
