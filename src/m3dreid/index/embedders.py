"""Embedding providers: anything that turns tracklets into ``(N, D)`` vectors for ``index``, ``search``, ``adapt``
and track relinking: a trained network, a hand-made descriptor, or a weighted fusion of several.

Every provider has ``embed(tracklets) -> (N, D) float32``, a ``metric`` (the distance its vectors are compared
with), ``describe()`` (a JSON-able record from which :func:`embedder_from_record` rebuilds it, kept in an index so
that ``search`` embeds queries the same way) and ``synthetic_only`` (True for a network trained on synthetic data
only and not adapted: see :func:`warn_if_synthetic`).

Specs understood by :func:`load_embedder`: ``appearance`` (the LOMO-like descriptor), ``color_histogram`` (the
floor), ``pretrained-2d`` / ``pretrained-m3d`` (the networks shipped in the package), ``default`` (what ``index``
uses when ``--model`` is omitted, see :data:`DEFAULT_SPEC`), or a checkpoint path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from m3dreid.data.base import Tracklet

__all__ = [
    "Embedder",
    "AppearanceEmbedder",
    "ColorHistogramEmbedder",
    "NetworkEmbedder",
    "FusionEmbedder",
    "load_embedder",
    "embedder_from_record",
    "warn_if_synthetic",
    "DEFAULT_SPEC",
    "DEFAULT_FUSION_WEIGHT",
]

log = logging.getLogger(__name__)

SYNTHETIC_DATASETS = ("synthetic",)  # checkpoints trained on these only are "synthetic only" until adapted
# the default provider: the shipped 2D network fused with the appearance descriptor (chosen on synthetic data; see
# src/m3dreid/pretrained/MODEL_CARD.md for the choice and for its measured real-footage numbers)
DEFAULT_SPEC = "pretrained-2d"
DEFAULT_FUSION_WEIGHT = 0.5  # weight of the appearance part in the default fusion


def _progress(items: Sequence, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="tracklet")


class Embedder:
    """Base class: see the module docstring."""

    name = "embedder"
    metric = "euclidean"
    synthetic_only = False

    def embed(self, tracklets: Sequence[Tracklet], *, progress: bool = False) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"kind": self.name}


class AppearanceEmbedder(Embedder):
    name = "appearance"

    def __init__(self, spec=None) -> None:
        from m3dreid.descriptors.appearance import AppearanceSpec

        self.spec = spec or AppearanceSpec()

    def embed(self, tracklets: Sequence[Tracklet], *, progress: bool = False) -> np.ndarray:
        from m3dreid.descriptors.appearance import appearance_dim, tracklet_appearance

        rows = [tracklet_appearance(t.frames, self.spec) for t in _progress(tracklets, progress, self.name)]
        return np.stack(rows) if rows else np.zeros((0, appearance_dim(self.spec)), np.float32)


class ColorHistogramEmbedder(Embedder):
    name = "color_histogram"

    def embed(self, tracklets: Sequence[Tracklet], *, progress: bool = False) -> np.ndarray:
        from m3dreid.descriptors.color_histogram import BINS, tracklet_histogram

        rows = [tracklet_histogram(t.frames) for t in _progress(tracklets, progress, self.name)]
        return np.stack(rows) if rows else np.zeros((0, 2 * int(np.prod(BINS))), np.float32)


class NetworkEmbedder(Embedder):
    """A trained m3dreid checkpoint: whole tracklets through the network in chunks (the evaluation's features)."""

    name = "network"

    def __init__(self, path: str | Path, *, device: str = "cpu", chunk_size: int = 0, label: str = "") -> None:
        from m3dreid.deploy import load_checkpoint_model
        from m3dreid.weights import load_file

        self.path = str(path)
        self.label = label or self.path
        self.model, self.config = load_checkpoint_model(path)
        meta = load_file(path).get("meta", {}) or {}
        self.training_data = str(meta.get("training_data", self.config.data.dataset))
        self.adapted = bool(meta.get("adapt"))
        self.synthetic_only = self.training_data in SYNTHETIC_DATASETS and not self.adapted
        self.metric = self.config.eval.distance
        self.device = device
        self.chunk_size = chunk_size or self.config.eval.chunk_size

    def embed(self, tracklets: Sequence[Tracklet], *, progress: bool = False) -> np.ndarray:
        from m3dreid.index.embed import embed_tracklets

        if not tracklets:
            return np.zeros((0, self.config.model.embed_dim), np.float32)
        return embed_tracklets(self.model, list(tracklets), self.config.data, chunk_size=self.chunk_size,
                               device=self.device, progress=progress)  # fmt: skip

    def describe(self) -> dict:
        return {"kind": "network", "model": self.label, "model_name": self.config.model.name,
                "height": self.config.data.height, "width": self.config.data.width,
                "chunk_size": self.chunk_size}  # fmt: skip


class FusionEmbedder(Embedder):
    """Weighted fusion: each part's vectors are scaled to unit length, then by ``sqrt(w)``, and concatenated.

    The squared Euclidean distance of two fused vectors is then ``sum_i w_i * |a_i - b_i|^2`` over unit vectors,
    i.e. the weighted sum of the parts' cosine distances (times 2): no part dominates by its scale or dimension.
    """

    name = "fusion"

    def __init__(self, parts: Sequence[Embedder], weights: Sequence[float]) -> None:
        if len(parts) != len(weights) or not parts:
            raise ValueError(f"fusion: {len(parts)} parts but {len(weights)} weights")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"fusion: weights must be >= 0 and not all 0, got {list(weights)}")
        self.parts, self.weights = list(parts), [float(w) for w in weights]
        self.synthetic_only = any(p.synthetic_only for p in self.parts)

    def embed(self, tracklets: Sequence[Tracklet], *, progress: bool = False) -> np.ndarray:
        return fuse([p.embed(tracklets, progress=progress) for p in self.parts], self.weights)

    def describe(self) -> dict:
        return {"kind": "fusion", "parts": [p.describe() for p in self.parts], "weights": self.weights}


def fuse(features: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """``[(N, D_i)]`` -> ``(N, sum D_i)``: unit-length rows, scaled by ``sqrt(w_i)``, concatenated."""
    out = []
    for f, w in zip(features, weights, strict=True):
        f = np.asarray(f, np.float32)
        out.append(np.sqrt(w) * f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12))
    return np.concatenate(out, axis=1).astype(np.float32)


def load_embedder(
    spec: str | None, *, device: str = "cpu", chunk_size: int = 0, fuse_with: str = "", fuse_weight: float = 0.5
) -> Embedder:
    """The provider named by ``spec`` (see the module docstring), fused with ``fuse_with`` at ``fuse_weight``.

    Raises ``FileNotFoundError`` / ``CheckpointError`` naming the file for a checkpoint path that is wrong.
    """
    spec = spec or "default"
    if spec == "default" and not fuse_with:
        return load_embedder(DEFAULT_SPEC, device=device, chunk_size=chunk_size, fuse_with="appearance",
                             fuse_weight=DEFAULT_FUSION_WEIGHT)  # fmt: skip
    if spec == "default":
        spec = DEFAULT_SPEC
    if spec == "appearance":
        base: Embedder = AppearanceEmbedder()
    elif spec == "color_histogram":
        base = ColorHistogramEmbedder()
    elif spec.startswith("pretrained-"):
        from m3dreid.pretrained import pretrained_path

        base = NetworkEmbedder(pretrained_path(spec.removeprefix("pretrained-")), device=device,
                               chunk_size=chunk_size, label=spec)  # fmt: skip
    else:
        if not Path(spec).is_file():
            raise FileNotFoundError(
                f"{spec}: no such checkpoint (or use appearance, color_histogram, pretrained-2d, pretrained-m3d)"
            )
        base = NetworkEmbedder(spec, device=device, chunk_size=chunk_size)
    if not fuse_with:
        return base
    if not 0.0 <= fuse_weight <= 1.0:
        raise ValueError(f"fusion weight must be in [0, 1], got {fuse_weight}")
    other = load_embedder(fuse_with, device=device, chunk_size=chunk_size)
    return FusionEmbedder([base, other], [1.0 - fuse_weight, fuse_weight])


def embedder_from_record(record: dict, *, device: str = "cpu") -> Embedder:
    """Rebuild the provider that :meth:`Embedder.describe` recorded (e.g. in an index's ``meta.json``)."""
    kind = record.get("kind")
    if kind == "fusion":
        parts = [embedder_from_record(r, device=device) for r in record["parts"]]
        return FusionEmbedder(parts, record["weights"])
    if kind == "network":
        return load_embedder(record["model"], device=device, chunk_size=int(record.get("chunk_size", 0)))
    if kind in ("appearance", "color_histogram"):
        return load_embedder(kind)
    raise ValueError(f"unknown embedder record {record!r}")


def warn_if_synthetic(embedder: Embedder, *, sources: Sequence[str] = ()) -> str:
    """A warning line when ``embedder`` holds a network trained on synthetic data only (and not adapted), else ''.

    ``sources``: the tracklet folders it is about to embed; folders cut from a synthetic scene (``m3dreid
    make-scene``: a ``scene.json`` beside the video) are synthetic footage and need no warning.
    """
    if not embedder.synthetic_only:
        return ""
    import json

    real = []
    for folder in sources:
        summary = Path(folder) / "video.json"
        video = json.loads(summary.read_text()).get("video", "") if summary.is_file() else ""
        if not (video and (Path(video).parent / "scene.json").is_file()):
            real.append(str(folder))
    if sources and not real:
        return ""
    line = (
        "warning: this model was trained on synthetic data only and has not been adapted to your footage; "
        "`m3dreid adapt TRACKLET_DIRS --out RUN` fine-tunes it on your own tracklets without labels"
    )
    log.warning("%s", line)
    return line
