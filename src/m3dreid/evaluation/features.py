"""Query / gallery features with their labels, saved to disk so evaluation and re-ranking rerun without the network.

A :class:`FeatureSet` holds everything the metrics and the report need: features, pids, camera ids, the protocol
facts of the dataset (``junk_pids``, ``ap_definition``) and a few frame paths per tracklet for ranked-list images
(``num_paths`` evenly spaced frames, not all of them: MARS has 681,089 test frames).

File format: one ``.npz`` (numpy only, ``allow_pickle=False``, written to a temp file and renamed) with the arrays
``q_feats (Q, D) float32``, ``g_feats (G, D)``, ``q_pids``, ``g_pids``, ``q_camids``, ``g_camids`` (int64),
``q_lengths``, ``g_lengths`` (frames a tracklet), ``q_paths (Q, P)``, ``g_paths (G, P)`` (unicode, '' padding),
``junk_pids`` (int64), ``ap_definition`` (0-d unicode) and ``meta`` (0-d unicode JSON: model, checkpoint, ...).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from m3dreid.errors import IndexFormatError, MissingInputError
from m3dreid.evaluation.extract import extract_features
from m3dreid.utils.io import atomic_write

__all__ = [
    "FeatureSet",
    "sample_paths",
    "features_from_dataset",
    "dataset_features",
    "feature_set",
    "save_features",
    "load_features",
]

_ARRAYS = ("q_feats", "g_feats", "q_pids", "g_pids", "q_camids", "g_camids", "q_lengths", "g_lengths")
_REQUIRED = (*_ARRAYS, "q_paths", "g_paths", "junk_pids", "ap_definition", "meta")


@dataclass(frozen=True)
class FeatureSet:
    """Features and labels of a query / gallery split (numpy arrays; see the module docstring for shapes)."""

    q_feats: np.ndarray
    g_feats: np.ndarray
    q_pids: np.ndarray
    g_pids: np.ndarray
    q_camids: np.ndarray
    g_camids: np.ndarray
    q_lengths: np.ndarray
    g_lengths: np.ndarray
    q_paths: np.ndarray
    g_paths: np.ndarray
    junk_pids: tuple[int, ...] = ()
    ap_definition: str = "standard"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for side in ("q", "g"):
            n = len(getattr(self, f"{side}_feats"))
            for name in ("pids", "camids", "lengths", "paths"):
                if len(getattr(self, f"{side}_{name}")) != n:
                    raise ValueError(
                        f"FeatureSet: {side}_{name} has {len(getattr(self, f'{side}_{name}'))} rows, not {n}"
                    )


def sample_paths(frames: Sequence[str], num_paths: int) -> list[str]:
    """``num_paths`` evenly spaced frame paths of a tracklet, '' padded when it is shorter."""
    if not frames:
        return [""] * num_paths
    idx = np.linspace(0, len(frames) - 1, num=min(num_paths, len(frames))).round().astype(int)
    picked = [str(frames[i]) for i in idx]
    return picked + [""] * (num_paths - len(picked))


def _paths_array(tracklets: Sequence[Any], num_paths: int) -> np.ndarray:
    rows = [sample_paths(getattr(t, "frames", ()), num_paths) for t in tracklets]
    return np.array(rows, dtype=str).reshape(len(tracklets), num_paths)


def features_from_dataset(
    model: nn.Module,
    dataset: Any,
    *,
    num_paths: int = 8,
    meta: dict | None = None,
    **extract_kwargs: Any,
) -> FeatureSet:
    """Whole-tracklet features of a dataset's query and gallery (``.query``, ``.gallery``, ``.junk_pids``, ...).

    ``extract_kwargs`` (``load_fn``, ``load_frames_fn``, ``chunk_size``, ``device``, ``flip``, ``amp``,
    ``progress``) go to :func:`~m3dreid.evaluation.extract.extract_features` unchanged, so the two never disagree.
    """
    query, gallery = list(dataset.query), list(dataset.gallery)
    feats = extract_features(model, query + gallery, **extract_kwargs).numpy()  # (Q + G, D)
    return feature_set(dataset, feats, num_paths=num_paths, meta=meta)


def dataset_features(
    model: nn.Module,
    dataset: Any,
    config: Any,
    *,
    device: Any = "auto",
    progress: bool = False,
    meta: dict | None = None,
    **overrides: Any,
) -> FeatureSet:
    """:func:`features_from_dataset` as a run's config says: frames read per ``config.data``, ``config.eval``'s
    chunk size and flip, the fast paths ``config.train`` asks for that apply on the device
    (:func:`m3dreid.utils.fast_paths.fast_paths`); ``overrides`` replace any of those extraction keywords."""
    from m3dreid.data.loader import load_frames
    from m3dreid.utils.device import resolve_device
    from m3dreid.utils.fast_paths import fast_paths

    params = next(model.parameters(), None)
    kwargs = {
        "load_frames_fn": lambda tracklet, indices: load_frames(tracklet, config.data, indices),
        "chunk_size": config.eval.chunk_size,
        "flip": config.eval.flip,
        **fast_paths(config.train, resolve_device(device, like=params)).extract_kwargs(),
        "device": device,
        "progress": progress,
        **overrides,
    }
    return features_from_dataset(model, dataset, meta=meta, **kwargs)


def feature_set(dataset: Any, feats: np.ndarray, *, num_paths: int = 8, meta: dict | None = None) -> FeatureSet:
    """A :class:`FeatureSet` from ``feats`` (``(Q + G, D)``: the query tracklets' rows, then the gallery's) and the
    dataset's labels and protocol facts; whatever computed the features (a network, a descriptor)."""
    query, gallery = list(dataset.query), list(dataset.gallery)
    if len(feats) != len(query) + len(gallery):
        raise ValueError(f"feature_set: {len(feats)} feature rows for {len(query)} queries + {len(gallery)} gallery")

    def labels(tracklets: list, attr: str) -> np.ndarray:
        return np.array([getattr(t, attr) for t in tracklets], dtype=np.int64)

    return FeatureSet(
        q_feats=feats[: len(query)],
        g_feats=feats[len(query) :],
        q_pids=labels(query, "pid"),
        g_pids=labels(gallery, "pid"),
        q_camids=labels(query, "camid"),
        g_camids=labels(gallery, "camid"),
        q_lengths=np.array([len(t.frames) for t in query], dtype=np.int64),
        g_lengths=np.array([len(t.frames) for t in gallery], dtype=np.int64),
        q_paths=_paths_array(query, num_paths),
        g_paths=_paths_array(gallery, num_paths),
        junk_pids=tuple(sorted(int(p) for p in getattr(dataset, "junk_pids", ()))),
        ap_definition=str(getattr(dataset, "ap_definition", "standard")),
        meta={"dataset": getattr(dataset, "name", ""), "protocol": getattr(dataset, "protocol", "")} | (meta or {}),
    )


def save_features(features: FeatureSet, path: str | Path) -> Path:
    """Write ``features`` to ``path`` (.npz) atomically: a temp file in the same folder, fsync, rename."""
    arrays = {name: np.asarray(getattr(features, name)) for name in _ARRAYS}
    arrays["q_feats"] = arrays["q_feats"].astype(np.float32)
    arrays["g_feats"] = arrays["g_feats"].astype(np.float32)
    arrays["q_paths"] = np.asarray(features.q_paths, dtype=str)
    arrays["g_paths"] = np.asarray(features.g_paths, dtype=str)
    arrays["junk_pids"] = np.array(features.junk_pids, dtype=np.int64)
    arrays["ap_definition"] = np.array(features.ap_definition)
    arrays["meta"] = np.array(json.dumps(features.meta, sort_keys=True, default=str))
    return atomic_write(path, lambda handle: np.savez(handle, **arrays))


def load_features(path: str | Path) -> FeatureSet:
    """Read a file written by :func:`save_features`; errors name the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: feature file not found (write one with `m3dreid extract`)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _REQUIRED if k not in data.files]
            if missing:
                raise IndexFormatError(f"{path}: not an m3dreid feature file, missing {', '.join(missing)}")
            values = {k: data[k] for k in _REQUIRED}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        if isinstance(err, IndexFormatError):
            raise
        raise IndexFormatError(f"{path}: unreadable feature file (truncated or corrupt?): {err}") from None
    for side in ("q", "g"):
        if values[f"{side}_feats"].ndim != 2:
            raise IndexFormatError(f"{path}: {side}_feats must be 2-D, got shape {values[f'{side}_feats'].shape}")
    if values["q_feats"].shape[1] != values["g_feats"].shape[1]:
        raise IndexFormatError(f"{path}: query and gallery features differ in size")
    return FeatureSet(
        **{k: values[k] for k in (*_ARRAYS, "q_paths", "g_paths")},
        junk_pids=tuple(int(p) for p in values["junk_pids"]),
        ap_definition=str(values["ap_definition"]),
        meta=json.loads(str(values["meta"])),
    )
