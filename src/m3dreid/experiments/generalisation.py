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


def run_one(*, family: str, seed: int, config: str, overrides: list[str], out: str | Path, data_dir: str | Path,
            size: str = "small") -> dict:  # fmt: skip
    import torch

    from m3dreid.cli.evaluate import evaluate_run
    from m3dreid.config import load_config
    from m3dreid.engine.run import train_from_config

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
    record = {"family": family, "seed": seed, "config": config, "overrides": overrides, "steps": result.global_step,
              "train_s": round(train_s, 1), "train_acc": result.last_acc, **scores,
              "floor": colour_floor(root)}  # fmt: skip
    (out / "result.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    record = run_one(family=args.family, seed=args.seed, config=args.config, overrides=args.overrides, out=args.out,
                     data_dir=args.data_dir, size=args.size)  # fmt: skip
    log.info("%s", json.dumps({k: v for k, v in record.items() if k != "overrides"}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
