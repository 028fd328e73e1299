"""Temporal cues that generalise: train 2D / M3D recipes on both synthetic families, score per identity group.

One run = (family, generator seed = training seed, config, overrides). Its data set is generated on first use under
``data_dir/<family>-<size>-s<seed>`` (deterministic), it trains with the config's recipe, evaluates whole
tracklets (MARS official protocol) and writes ``result.json``: overall mAP, per-group mAP, seconds, the temporal
weight norms. The colour-histogram floor of a data set is computed once and kept beside it.

    python -m m3dreid.experiments.generalisation run --family limbs --seed 0 -c configs/cpu_demo_m3d.yaml \
        --out runs/gen/limbs-s0-m3d [--set train.lr=0.002 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

__all__ = ["dataset_folder", "group_scores_of_features", "run_one", "colour_floor"]

log = logging.getLogger(__name__)


def dataset_folder(data_dir: str | Path, family: str, seed: int, size: str = "small") -> Path:
    """The folder of (family, size, seed) under ``data_dir``, generated when missing."""
    from m3dreid.data.families import make_family

    folder = Path(data_dir) / f"{family}-{size}-s{seed}"
    if not (folder / "info" / "groups.json").is_file():
        tmp = folder.with_name(folder.name + ".partial")
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)
        make_family(family, tmp, size=size, seed=seed)
        tmp.rename(folder)
    return folder


def group_scores_of_features(features, root: str | Path) -> dict[str, float]:
    """Overall and per-group-kind mAP of a FeatureSet on a synthetic folder (fractions)."""
    from m3dreid.evaluation import evaluate_features
    from m3dreid.evaluation.groups import group_map

    result = evaluate_features(features, device="cpu")
    return {"mAP": float(result.mAP), "rank1": float(result.rank(1))} | group_map(result, features.q_pids, root)


def colour_floor(root: str | Path) -> dict[str, float]:
    """The colour-histogram floor's scores on a synthetic folder (cached in ``root/colour_floor.json``)."""
    cache = Path(root) / "colour_floor.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from m3dreid.data import create_dataset
    from m3dreid.descriptors.color_histogram import histogram_features

    scores = group_scores_of_features(histogram_features(create_dataset("synthetic", root)), root)
    cache.write_text(json.dumps(scores, indent=1, sort_keys=True) + "\n")
    return scores


def classifier_group_cosine(checkpoint: str | Path, root: str | Path) -> dict[str, float]:
    """Mean cosine similarity of the classifier rows of look-alike training identities, per group kind.

    Near 1 for a kind: the network gives that group's members (nearly) one prototype, i.e. it did not learn to tell
    them apart (the symmetric solution in which the softmax gradient inside the group vanishes).
    """
    import torch

    from m3dreid.data.synthetic import read_groups
    from m3dreid.weights import extract_state_dict, load_file

    state = extract_state_dict(load_file(checkpoint), checkpoint)
    weight = next((v for k, v in state.items() if k.endswith("classifier.weight")), None)
    if weight is None:
        return {}
    w = torch.nn.functional.normalize(weight.float(), dim=1).numpy()  # (N, D), rows in sorted train-pid order
    groups = read_groups(root)
    train = sorted(p for p, g in groups.items() if g["split"] == "train")
    out: dict[str, list[float]] = {}
    for i, a in enumerate(train):
        for j in range(i + 1, len(train)):
            b = train[j]
            if groups[a]["group"] == groups[b]["group"]:
                out.setdefault(groups[a]["kind"], []).append(float(w[i] @ w[j]))
    return {f"{kind} classifier cosine": float(np.mean(v)) for kind, v in out.items()}


def clip_averaged_features(model, dataset, data_cfg, *, clip_len: int):
    """Features as the mean over a tracklet's non-overlapping ``clip_len``-frame clips (the training view), instead
    of the default whole-tracklet pass (the global layer over every frame at once): the comparison of Deliver 4."""
    import torch

    from m3dreid.data.loader import load_frames
    from m3dreid.evaluation.features import feature_set

    feats = []
    with torch.no_grad():
        for t in list(dataset.query) + list(dataset.gallery):
            n = len(t.frames)
            starts = list(range(0, max(1, n - clip_len + 1), clip_len)) if n >= clip_len else [0]
            clips = [load_frames(t, data_cfg, [min(s + i, n - 1) for i in range(clip_len)]) for s in starts]
            out = model(torch.stack(clips))  # (clips, D)
            feats.append(out.mean(0).numpy())
    return feature_set(dataset, np.stack(feats), meta={"model": f"clip-averaged ({clip_len} frames)"})


def run_one(*, family: str, seed: int, config: str, overrides: list[str], out: str | Path, data_dir: str | Path,
            size: str = "small") -> dict:  # fmt: skip
    import torch

    from m3dreid.config import load_config
    from m3dreid.engine.run import train_from_config
    from m3dreid.tasks.evaluate import evaluate_run

    out = Path(out)
    root = dataset_folder(data_dir, family, seed, size)
    cfg = load_config(config, [f"data.root={root}", f"train.seed={seed}", *overrides])
    cfg = dataclasses.replace(cfg, output_dir=str(out))
    torch.set_num_threads(1)
    start = time.perf_counter()
    result = train_from_config(cfg)
    train_s = time.perf_counter() - start
    evaluate_run(cfg, checkpoint=result.checkpoint, run_dir=out)
    from m3dreid.evaluation import load_features
    from m3dreid.report.runs import FEATURES_FILE

    scores = group_scores_of_features(load_features(out / FEATURES_FILE), root)
    scores |= classifier_group_cosine(result.checkpoint, root)
    record = {"family": family, "seed": seed, "config": config, "overrides": overrides, "steps": result.global_step,
              "train_s": round(train_s, 1), "train_acc": result.last_acc, **scores,
              "floor": colour_floor(root)}  # fmt: skip
    (out / "result.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def clip_eval(run_dir: str | Path, *, clip_len: int) -> dict:
    """Scores of ``run_dir``'s model with clip-averaged features, beside its whole-tracklet ones (``result.json``);
    written to ``run_dir/clip_eval.json``."""
    import torch

    from m3dreid.config import load_config
    from m3dreid.data import dataset_from_config
    from m3dreid.tasks.evaluate import load_for_eval

    run_dir = Path(run_dir)
    torch.set_num_threads(1)
    cfg = load_config(run_dir / "config.yaml")
    model = load_for_eval(cfg, checkpoint=run_dir / "last.pt", device="cpu")
    dataset = dataset_from_config(cfg.data)
    clip = group_scores_of_features(clip_averaged_features(model, dataset, cfg.data, clip_len=clip_len), cfg.data.root)
    whole = json.loads((run_dir / "result.json").read_text())
    record = {"clip_len": clip_len, "clip_averaged": clip, "whole_tracklet": {k: whole[k] for k in clip if k in whole}}
    (run_dir / "clip_eval.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


KEYS = ("mAP", "motion mAP", "rhythm mAP", "appearance mAP")


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if len(v) > 1 else f"{v[0]:.1f}"


def results_table(runs_dir: str | Path) -> str:
    """Markdown: one row per (family, split, recipe) over ``runs_dir/<family>-s<seed>-<recipe>/result.json``.

    Cells are mean ± sample std over seeds (percent), with the colour-histogram floor of the same data sets as a
    row of its own and the seeds, steps and seconds a run beside each row.
    """
    from m3dreid.data.families import SPLITS

    rows: dict[tuple[str, str, str], list[dict]] = {}
    for path in sorted(Path(runs_dir).glob("*/result.json")):
        record = json.loads(path.read_text())
        recipe = path.parent.name.split("-", 2)[2]
        split = next((name for name, seeds in SPLITS.items() if record["seed"] in seeds), "other")
        rows.setdefault((record["family"], split, recipe), []).append(record)
    head = "| family | split | recipe | seeds | " + " | ".join(KEYS) + " | steps | s a run |"
    lines = [head, "|---" * (len(KEYS) + 6) + "|"]
    floors_done = set()
    for (family, split, recipe), records in sorted(rows.items()):
        seeds = ", ".join(str(r["seed"]) for r in sorted(records, key=lambda r: r["seed"]))
        if (family, split, seeds) not in floors_done:
            floors_done.add((family, split, seeds))
            cells = " | ".join(_cell([r["floor"].get(k) for r in records if k in r["floor"]]) for k in KEYS)
            lines.append(f"| {family} | {split} | colour histogram (no learning) | {seeds} | {cells} | - | - |")
        cells = " | ".join(_cell([r[k] for r in records if k in r]) for k in KEYS)
        steps = ", ".join(sorted({str(r["steps"]) for r in records}))
        secs = f"{np.mean([r['train_s'] for r in records]):.0f}"
        lines.append(f"| {family} | {split} | {recipe} | {seeds} | {cells} | {steps} | {secs} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m m3dreid.experiments.generalisation")
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="one training run on one family / seed")
    one.add_argument("--family", required=True)
    one.add_argument("--seed", type=int, required=True)
    one.add_argument("--config", "-c", required=True)
    one.add_argument("--set", dest="overrides", action="append", default=[])
    one.add_argument("--out", required=True)
    one.add_argument("--data-dir", default="runs/gen/data")
    one.add_argument("--size", default="small")
    clips = sub.add_parser(
        "clip-eval", help="a trained run's scores with clip-averaged instead of whole-tracklet features"
    )
    clips.add_argument("run_dir")
    clips.add_argument("--clip-len", type=int, default=8)
    table = sub.add_parser("table", help="markdown table of the runs under a folder (mean ± std over seeds)")
    table.add_argument("runs_dir")
    table.add_argument("--out", default=None, help="write the table to this file (default: log it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.command == "clip-eval":
        record = clip_eval(args.run_dir, clip_len=args.clip_len)
        log.info("%s", json.dumps(record, sort_keys=True))
        return 0
    if args.command == "table":
        text = results_table(args.runs_dir)
        if args.out:
            Path(args.out).write_text(text + "\n")
        else:
            log.info("\n%s", text)
        return 0
    record = run_one(family=args.family, seed=args.seed, config=args.config, overrides=args.overrides, out=args.out,
                     data_dir=args.data_dir, size=args.size)  # fmt: skip
    log.info("%s", json.dumps({k: v for k, v in record.items() if k != "overrides"}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
