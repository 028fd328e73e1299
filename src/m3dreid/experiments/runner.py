"""Run one table on one dataset: train each row's model per seed (and split), evaluate, and collect the cells.

Runs are cached by their resolved config (``configset.config_key``): a run folder holds ``experiment.json`` once it
is trained and evaluated, and a later table (or a rerun after an interruption) that needs the same config reuses it.
The two-stream rows train nothing: they fuse the features of their streams' runs. PRID2011 / iLIDS-VID cells are the
mean over the splits of each seed; a cell's list holds one value per seed, so the writer reports mean +- std over
seeds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from m3dreid.config import Config
from m3dreid.experiments import backend
from m3dreid.experiments.configset import ConfigSet, config_key, row_config
from m3dreid.experiments.tables import RowSpec, TableSpec
from m3dreid.utils.io import atomic_write_text

__all__ = ["run_table", "result_path", "load_result", "default_splits"]

log = logging.getLogger(__name__)

_RUN_FILE = "experiment.json"
_STATS_FILE = "model_stats.json"  # parameters and frames/s of the row, beside its seed-0 run


def default_splits(data: str) -> tuple[int, ...]:
    """Every official split a dataset was registered with (PRID2011, iLIDS-VID: 10); the others have one."""
    from m3dreid.data import dataset_info

    return tuple(range(dataset_info(data)["splits"]))


def result_path(out: str | Path, table: str, data: str) -> Path:
    return Path(out) / f"{table}_{data}.json"


def load_result(out: str | Path, table: str, data: str) -> dict | None:
    path = result_path(out, table, data)
    return json.loads(path.read_text()) if path.is_file() else None


def _write_json(path: Path, values: dict) -> None:
    atomic_write_text(path, json.dumps(values, indent=1, sort_keys=True))


class _Cells:
    """Runs (or reuses) the trained and fused rows of one dataset, seed and split."""

    def __init__(self, *, spec: TableSpec, config_set: ConfigSet, data: str, root: Path, size: str, out: Path):
        self.spec, self.config_set, self.data, self.root, self.size = spec, config_set, data, root, size
        self.runs_dir = out / "runs" / data

    def run_config(self, row: RowSpec, *, seed: int, split: int = 0) -> Config:
        """The row's resolved config, its output folder the cache folder named by the config's key."""
        config = row_config(
            self.config_set, row, data=self.data, root=str(self.root), size=self.size, seed=seed, split=split
        )
        return dataclasses.replace(config, output_dir=str(self.runs_dir / f"{row.model}-{config_key(config)}"))

    def trained(self, row: RowSpec, *, seed: int, split: int, rerank: bool = False) -> dict[str, Any]:
        config = self.run_config(row, seed=seed, split=split)
        run_dir = Path(config.output_dir)
        record_path = run_dir / _RUN_FILE
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        if "checkpoint" not in record:
            log.info("training %s (%s, seed %d, split %d) in %s", row.model, self.data, seed, split, run_dir)
            start, cpu = time.perf_counter(), time.process_time()
            checkpoint = backend.train(config)
            record = {"checkpoint": str(checkpoint), "train_seconds": time.perf_counter() - start, "metrics": {}}
            record["train_cpu_seconds"] = time.process_time() - cpu  # wall time depends on the machine's load
            _write_json(record_path, record)
        mode = "rerank" if rerank else "plain"
        if mode not in record["metrics"]:
            start, cpu = time.perf_counter(), time.process_time()
            record["metrics"][mode] = backend.evaluate(config, Path(record["checkpoint"]), rerank=rerank)
            record[f"eval_seconds_{mode}"] = time.perf_counter() - start
            record[f"eval_cpu_seconds_{mode}"] = time.process_time() - cpu
            _write_json(record_path, record)
        return {"config": config, "run_dir": str(run_dir), "record": str(record_path), **record}

    def fused(self, row: RowSpec, *, seed: int, split: int) -> dict[str, Any]:
        streams = [self.trained(self.spec.row(key), seed=seed, split=split) for key in row.streams]
        name = "fusion-" + "+".join(Path(s["config"].output_dir).name for s in streams)
        record_path = self.runs_dir / name / f"{'rerank' if row.rerank else 'plain'}.json"
        if record_path.is_file():
            return {**json.loads(record_path.read_text()), "record": str(record_path)}
        start = time.perf_counter()
        metrics = backend.evaluate_fusion(
            [s["config"] for s in streams], [Path(s["checkpoint"]) for s in streams], rerank=row.rerank
        )
        record = {"metrics": {"plain": metrics}, "eval_seconds_plain": time.perf_counter() - start}
        _write_json(record_path, record)
        return {**record, "record": str(record_path)}

    def model_stats(self, row: RowSpec, *, seed: int, extras: Sequence[str], fps_seconds: float) -> dict[str, float]:
        """Parameters and frames/s of a trained row, measured once and kept beside its run (a later table or docs
        call shows the same figures instead of re-timing the model on a machine that may be busy)."""
        config = self.run_config(row, seed=seed)
        path = Path(config.output_dir) / _STATS_FILE
        saved = json.loads(path.read_text()) if path.is_file() else {}
        stats = saved.get("stats", {})
        if saved.get("fps_seconds") != fps_seconds:
            stats.pop("fps", None)  # timed for another duration: time it again
        missing = [extra for extra in extras if extra not in stats]
        if missing:
            stats |= backend.model_stats(config, extras=missing, fps_seconds=fps_seconds)
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_json(path, {"stats": stats, "fps_seconds": fps_seconds, "device": backend.device_name()})
        return {key: stats[key] for extra in extras for key in backend.STAT_KEYS[extra]}

    def metrics(self, row: RowSpec, *, seed: int, split: int) -> tuple[dict[str, float], dict[str, Any]]:
        """One row's metrics for one seed and split, and its record (run folder, record file)."""
        if row.is_fusion:
            record = self.fused(row, seed=seed, split=split)
            return record["metrics"]["plain"], record
        record = self.trained(row, seed=seed, split=split, rerank=row.rerank)
        return record["metrics"]["rerank" if row.rerank else "plain"], record


def _train_unit(job: tuple) -> str:
    """Worker of the process pool: train and evaluate one (row, seed, split) with one torch thread."""
    import torch

    spec, config_set, data, root, size, out, row_key, seed, split = job
    torch.set_num_threads(1)
    cells = _Cells(spec=spec, config_set=config_set, data=data, root=Path(root), size=size, out=Path(out))
    row = spec.row(row_key)
    return cells.trained(row, seed=seed, split=split, rerank=row.rerank)["run_dir"]


def _train_in_parallel(jobs: list[tuple], workers: int) -> None:
    """Train independent runs in ``workers`` processes (one thread each: small CPU models scale better this way)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for run_dir in pool.map(_train_unit, jobs):
            log.info("done %s", run_dir)


def _compute_seconds(records: set[str]) -> float:
    """Seconds the table costs from scratch: training and evaluation in every record it uses, each counted once."""
    total = 0.0
    for path in records:
        record = json.loads(Path(path).read_text())
        total += sum(float(v) for k, v in record.items() if k == "train_seconds" or k.startswith("eval_seconds_"))
    return total


def run_table(
    spec: TableSpec,
    config_set: ConfigSet,
    *,
    data: str,
    root: str | Path | None,
    out: str | Path,
    size: str = "small",
    seeds: Sequence[int] | None = None,
    splits: Sequence[int] | None = None,
    rows: Sequence[str] | None = None,
    fps_seconds: float = 1.0,
    workers: int = 1,
) -> dict[str, Any]:
    """Run ``spec`` on ``data``; write and return its result (``<out>/<table>_<data>.json``).

    ``workers > 1`` trains the independent runs in that many processes first; the table is then read from the cache.
    """
    from m3dreid.data import list_datasets

    if data not in list_datasets():
        raise ValueError(f"unknown data '{data}'; choose one of {', '.join(list_datasets())}")
    out = Path(out)
    start = time.perf_counter()
    if data == "synthetic":
        root = backend.prepare_synthetic(Path(root) if root else out / "data" / f"synthetic-{size}", size=size)
    elif root is None:
        raise ValueError(f"--root is required for {data}: the dataset folder in its original layout")
    seeds = tuple(seeds) if seeds else (config_set.synthetic_seeds if data == "synthetic" else config_set.seeds)
    splits = tuple(splits) if splits else default_splits(data)
    chosen = [spec.row(key) for key in rows] if rows else list(spec.rows)
    cells = _Cells(spec=spec, config_set=config_set, data=data, root=Path(root), size=size, out=out)

    if workers > 1:
        keys = dict.fromkeys(k for row in chosen for k in (row.streams if row.is_fusion else (row.key,)))
        jobs = [
            (spec, config_set, data, str(root), size, str(out), key, seed, split)
            for seed in seeds
            for key in keys
            for split in splits
        ]
        _train_in_parallel(jobs, workers)

    values: dict[str, dict[str, list[float]]] = {}
    run_dirs: dict[str, list[str]] = {}
    records: set[str] = set()
    for row in chosen:
        per_seed: dict[str, list[float]] = {metric: [] for metric in spec.metrics}
        for seed in seeds:
            per_split = []
            for split in splits:
                metrics, record = cells.metrics(row, seed=seed, split=split)
                per_split.append(metrics)
                records.add(record["record"])
                if "run_dir" in record:
                    run_dirs.setdefault(row.key, []).append(record["run_dir"])
            for metric in spec.metrics:
                per_seed[metric].append(float(np.mean([m[metric] for m in per_split])))
        values[row.key] = per_seed

    extras: dict[str, dict[str, float]] = {}
    for row in chosen:
        if spec.extras and not row.is_fusion:
            extras[row.key] = cells.model_stats(row, seed=seeds[0], extras=spec.extras, fps_seconds=fps_seconds)

    result = {
        "table": spec.name,
        "data": data,
        "size": size if data == "synthetic" else "",
        "root": str(root),
        "seeds": list(seeds),
        "splits": list(splits),
        "rows": [row.key for row in chosen],
        "cells": values,
        "extras": extras,
        "run_dirs": run_dirs,
        "compute_seconds": _compute_seconds(records),
        "device": backend.device_name(),
        "wall_seconds": time.perf_counter() - start,
    }
    _write_json(result_path(out, spec.name, data), result)
    return result
