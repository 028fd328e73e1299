"""A FAISS gallery of tracklet embeddings with one metadata record per vector, saved as a folder.

``IDX/index.faiss`` (the FAISS index), ``IDX/features.npy`` (the raw (N, D) float32 features, for re-ranking or
re-indexing), ``IDX/meta.json`` (metric, kind, model checkpoint, one record per tracklet). Distances equal the
evaluation's (``m3dreid.evaluation.pairwise_distance``): ``euclidean`` is the squared Euclidean distance (FAISS L2),
``cosine`` is ``1 - cos`` (inner product of L2-normalised vectors), so a search ranks exactly as evaluation does.
``flat`` is exact; ``ivf`` (inverted lists over k-means cells) is for large galleries and is exact when
``nprobe == nlist``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

__all__ = ["GalleryIndex", "INDEX_KINDS", "METRICS"]

log = logging.getLogger(__name__)

INDEX_KINDS = ("auto", "flat", "ivf")
METRICS = ("euclidean", "cosine")
IVF_FROM = 20000  # "auto" switches to IVF from this many tracklets


def _prepare(features: np.ndarray, metric: str) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(features, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(x, dtype=np.float32)


@dataclass
class GalleryIndex:
    index: faiss.Index
    features: np.ndarray  # (N, D) float32, as given (not normalised)
    meta: list[dict]
    metric: str = "euclidean"
    kind: str = "flat"
    info: dict = field(default_factory=dict)  # anything else to keep (model checkpoint, data config ...)

    @staticmethod
    def build(
        features: np.ndarray,
        meta: list[dict],
        *,
        metric: str = "euclidean",
        kind: str = "auto",
        nlist: int = 0,
        nprobe: int = 8,
        seed: int = 0,
        info: dict | None = None,
    ) -> GalleryIndex:
        if metric not in METRICS:
            raise ValueError(f"unknown metric '{metric}' (known: {', '.join(METRICS)})")
        if kind not in INDEX_KINDS:
            raise ValueError(f"unknown index kind '{kind}' (known: {', '.join(INDEX_KINDS)})")
        x = _prepare(features, metric)
        if len(meta) != x.shape[0]:
            raise ValueError(f"{x.shape[0]} features but {len(meta)} metadata records")
        n, d = x.shape
        if kind == "auto":
            kind = "ivf" if n >= IVF_FROM else "flat"
        faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
        if kind == "flat":
            index = faiss.IndexFlatIP(d) if metric == "cosine" else faiss.IndexFlatL2(d)
        else:
            nlist = nlist or max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))  # >= 39 training points a cell
            quantizer = faiss.IndexFlatIP(d) if metric == "cosine" else faiss.IndexFlatL2(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss_metric)
            index.cp.seed = seed
            index.train(x)
            index.nprobe = min(nprobe, nlist)
        index.add(x)
        log.info("gallery index: %d tracklets, D=%d, %s %s", n, d, metric, kind)
        return GalleryIndex(index, np.asarray(features, np.float32), list(meta), metric, kind, dict(info or {}))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(Q, k)`` distances (the evaluation's, smallest first) and gallery indices (-1 where fewer than k)."""
        q = _prepare(queries, self.metric)
        k = min(k, len(self))
        scores, ids = self.index.search(q, k)
        distances = 1.0 - scores if self.metric == "cosine" else np.maximum(scores, 0.0)
        return distances.astype(np.float32), ids.astype(np.int64)

    def set_nprobe(self, nprobe: int) -> None:
        if self.kind == "ivf":
            faiss.extract_index_ivf(self.index).nprobe = nprobe

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / "index.faiss"))
        np.save(folder / "features.npy", self.features)
        record = {
            "metric": self.metric,
            "kind": self.kind,
            "count": len(self),
            "info": self.info,
            "tracklets": self.meta,
        }
        (folder / "meta.json").write_text(json.dumps(record, indent=1))
        return folder

    @staticmethod
    def load(folder: str | Path) -> GalleryIndex:
        folder = Path(folder)
        missing = [n for n in ("index.faiss", "features.npy", "meta.json") if not (folder / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: not a gallery index, missing {', '.join(missing)}")
        record = json.loads((folder / "meta.json").read_text())
        index = faiss.read_index(str(folder / "index.faiss"))
        features = np.load(folder / "features.npy")
        if index.ntotal != len(record["tracklets"]) or features.shape[0] != index.ntotal:
            raise ValueError(
                f"{folder}: index holds {index.ntotal} vectors, features.npy {features.shape[0]}, "
                f"meta.json {len(record['tracklets'])} records"
            )
        return GalleryIndex(index, features, record["tracklets"], record["metric"], record["kind"], record["info"])
