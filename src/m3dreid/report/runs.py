"""The run folder: what training and evaluation write, and what ``m3dreid report`` reads.

Layout of ``RUN/`` (every file optional for the report, which shows what is there)::

    RUN/config.yaml     the resolved config (m3dreid.config.save_config); the report shows model and dataset
    RUN/train_log.csv   one row per log step: epoch, iter, loss, acc, lr, frames_per_s (the trainer writes it)
    RUN/results.json    metrics, written by write_results() below (eval / rerank commands, the engine, the demo)
    RUN/features.npz    query / gallery features + labels + frame paths (m3dreid.evaluation.save_features);
                        the report draws ranked lists from it when the frames are still on disk

``results.json``::

    {"run": "m3d",                                  # display name (default: the folder name)
     "results": {                                   # one entry per evaluation variant, keyed by a label
        "euclidean": {"rank1": 0.83, "rank5": ..., "rank10": ..., "rank20": ..., "mAP": 0.74, "mINP": 0.41,
                      "num_queries": 1980, "num_valid_queries": 1980, "num_no_match": 0,
                      "ap_definition": "mars_kit", "cmc": [0.83, ...],   # fractions, CMC@1..max_rank
                      ...extra keys given to write_results (metric, rerank, checkpoint, dataset, seconds)},
        "euclidean+rerank": {...}}}

Writes are atomic (temp file + rename) and merge: writing label ``b`` keeps label ``a``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from m3dreid.errors import InputError, MissingInputError
from m3dreid.utils.io import atomic_write_text

__all__ = [
    "RESULTS_FILE",
    "TRAIN_LOG_FILE",
    "FEATURES_FILE",
    "CONFIG_FILE",
    "RunData",
    "write_results",
    "read_results",
    "read_train_log",
    "read_run",
]

RESULTS_FILE = "results.json"
TRAIN_LOG_FILE = "train_log.csv"
FEATURES_FILE = "features.npz"
CONFIG_FILE = "config.yaml"


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars and arrays to Python, NaN to None."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_results(
    run_dir: str | Path,
    result: Any,
    *,
    label: str = "eval",
    run_name: str | None = None,
    extra: dict | None = None,
) -> Path:
    """Add ``result`` (a :class:`~m3dreid.evaluation.RankingResult` or a dict of metrics with ``cmc``) under ``label``.

    ``extra`` adds context shown in the report (e.g. ``{"metric": "euclidean", "rerank": False}``).
    """
    path = Path(run_dir) / RESULTS_FILE
    data = read_results(run_dir) if path.is_file() else {}
    if hasattr(result, "summary"):
        entry = dict(result.summary())
        entry["cmc"] = list(result.cmc)
    else:
        entry = dict(result)
    entry.update(extra or {})
    data["run"] = run_name or data.get("run") or Path(run_dir).resolve().name
    data.setdefault("results", {})[label] = _plain(entry)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def read_results(run_dir: str | Path) -> dict:
    """``results.json`` of a run as a dict (see the module docstring); errors name the file."""
    path = Path(run_dir) / RESULTS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise MissingInputError(f"{path}: no results (run `m3dreid eval` on this run first)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results", {}), dict):
        raise InputError(f"{path}: expected {{'run': ..., 'results': {{label: metrics}}}}")
    return data


def read_train_log(run_dir: str | Path) -> dict[str, list[float]]:
    """Columns of ``train_log.csv`` as float lists (empty dict when there is no log); non-numbers become NaN."""
    path = Path(run_dir) / TRAIN_LOG_FILE
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key is None:
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = float("nan")
            columns.setdefault(key.strip(), []).append(number)
    return columns


@dataclass
class RunData:
    """Everything the report found in one run folder."""

    path: Path
    name: str
    results: dict = field(default_factory=dict)  # label -> metrics dict (with "cmc")
    train_log: dict = field(default_factory=dict)  # column -> values
    features_path: Path | None = None
    config: dict = field(default_factory=dict)


def read_run(run_dir: str | Path) -> RunData:
    """Read what is there; a run folder without ``results.json`` and without a log is an error."""
    path = Path(run_dir)
    if not path.is_dir():
        raise MissingInputError(f"{path}: run folder not found")
    results = read_results(path) if (path / RESULTS_FILE).is_file() else {}
    log = read_train_log(path)
    if not results and not log:
        raise MissingInputError(f"{path}: neither {RESULTS_FILE} nor {TRAIN_LOG_FILE} found: not a run folder")
    config: dict = {}
    if (path / CONFIG_FILE).is_file():
        import yaml

        try:
            config = yaml.safe_load((path / CONFIG_FILE).read_text()) or {}
        except yaml.YAMLError:
            config = {}
    features = path / FEATURES_FILE
    return RunData(
        path=path,
        name=str(results.get("run") or path.resolve().name),
        results=results.get("results", {}),
        train_log=log,
        features_path=features if features.is_file() else None,
        config=config if isinstance(config, dict) else {},
    )
