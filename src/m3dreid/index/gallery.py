"""A FAISS gallery of tracklet embeddings with one metadata record per vector, saved as a folder.

``IDX/index.faiss`` (the FAISS index), ``IDX/features.npy`` (the raw (N, D) float32 features, for re-ranking or
re-indexing), ``IDX/meta.json`` (metric, kind, model checkpoint, one record per tracklet). Distances equal the
evaluation's (``m3dreid.evaluation.pairwise_distance``): ``euclidean`` is the squared Euclidean distance (FAISS L2),
``cosine`` is ``1 - cos`` (inner product of L2-normalised vectors), so a search ranks exactly as evaluation does.
``flat`` is exact; ``ivf`` (inverted lists over k-means cells) is for large galleries and is exact when
``nprobe == nlist``.

Search for a person (:meth:`GalleryIndex.search_entry` / :meth:`GalleryIndex.search` with ``exclude`` and
``cameras``) leaves the query's own tracklet out and can keep only some cameras. ``info["same_person"]`` holds a
distance threshold estimated on the index itself (:mod:`m3dreid.index.threshold`): a hit at or below it is probably
the same person. Library code, shared by ``m3dreid search`` and the web viewer.

``meta.json`` carries ``version`` (:data:`INDEX_VERSION`); a folder of another version, or one whose three files
disagree (a copy cut short), is refused with a one-line error. :meth:`GalleryIndex.add` appends tracklets without
rebuilding (``m3dreid index --add``); :meth:`GalleryIndex.save` replaces each file atomically, ``meta.json`` last.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# faiss's loader logs at INFO each SIMD build it tries and cannot load ("Could not load library with AVX512 support"),
# eight lines that read like errors on every `index` / `search`; the one build it does load is all that matters.
logging.getLogger("faiss.loader").setLevel(logging.WARNING)
import faiss  # noqa: E402

from m3dreid.errors import IndexFormatError, MissingInputError  # noqa: E402

__all__ = ["GalleryIndex", "Hit", "INDEX_FILES", "INDEX_KINDS", "INDEX_VERSION", "METRICS"]

log = logging.getLogger(__name__)

INDEX_KINDS = ("auto", "flat", "ivf")
METRICS = ("euclidean", "cosine")
IVF_FROM = 20000  # "auto" switches to IVF from this many tracklets
INDEX_FILES = ("index.faiss", "features.npy", "meta.json", "search_*.jpg")  # what `m3dreid index` writes (and search)
INDEX_VERSION = 1  # meta.json layout; bump when a reader of the old layout would misread the new one


def _prepare(features: np.ndarray, metric: str) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(features, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(x, dtype=np.float32)


@dataclass(frozen=True)
class Hit:
    """One ranked gallery tracklet: its position in the index, distance and the "same person?" cue."""

    rank: int  # 1-based, after the exclusions and camera filter
    gallery_index: int
    distance: float
    same_person: bool | None  # distance <= the index's threshold; None when the index has no threshold
    meta: dict

    def as_dict(self) -> dict:
        return {"rank": self.rank, "gallery_index": self.gallery_index, "distance": self.distance,
                "same_person": self.same_person, **self.meta}  # fmt: skip


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

    def pair_distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Row-wise distance of two ``(M, D)`` feature arrays under the index's metric (as ``search`` gives it)."""
        x, y = _prepare(a, self.metric), _prepare(b, self.metric)
        if self.metric == "cosine":
            return (1.0 - (x * y).sum(axis=1)).astype(np.float32)
        return ((x - y) ** 2).sum(axis=1).astype(np.float32)

    @property
    def same_person_threshold(self) -> float | None:
        """The distance at or below which a hit is probably the same person (None: the index could not estimate one)."""
        record = self.info.get("same_person") or {}
        value = record.get("threshold")
        return float(value) if value is not None else None

    def find(self, source: str | Path, track_id: int) -> int | None:
        """Gallery position of track ``track_id`` of the ``m3dreid tracklets`` folder ``source`` (None if absent)."""
        source = str(Path(source).resolve())
        for i, m in enumerate(self.meta):
            if m.get("source") == source and m.get("track_id") == track_id:
                return i
        return None

    def rank(
        self,
        query: np.ndarray,
        k: int,
        *,
        exclude: Collection[int] = (),
        cameras: Collection[int] | None = None,
    ) -> list[Hit]:
        """The ``k`` nearest tracklets to one ``(D,)`` query, leaving out the gallery positions in ``exclude`` and,
        if ``cameras`` is given, every tracklet of another camera. Fewer than ``k`` when the gallery runs out."""
        query = np.asarray(query, np.float32).reshape(1, -1)  # (1, D)
        exclude = set(int(i) for i in exclude)
        keep_cams = None if cameras is None else set(int(c) for c in cameras)
        allowed = [i for i, m in enumerate(self.meta)
                   if i not in exclude and (keep_cams is None or m.get("camid") in keep_cams)]  # fmt: skip
        want = min(k, len(allowed))
        if want <= 0:
            return []
        # Over-fetch by what the filters may remove; a camera filter can remove almost anything, so widen until
        # enough hits survive or the whole gallery has been ranked.
        fetch = min(len(self), want + len(exclude) + (0 if keep_cams is None else want))
        allowed_set = set(allowed)
        while True:
            distances, ids = self.search(query, fetch)
            found = [(float(d), int(i)) for d, i in zip(distances[0], ids[0], strict=True) if i in allowed_set]
            if len(found) >= want or fetch >= len(self):
                break
            fetch = min(len(self), fetch * 2)
        threshold = self.same_person_threshold
        return [
            Hit(rank, i, d, None if threshold is None else bool(d <= threshold), self.meta[i])
            for rank, (d, i) in enumerate(found[:want], start=1)
        ]

    def search_entry(
        self, position: int, k: int, *, include_self: bool = False, cameras: Collection[int] | None = None
    ) -> list[Hit]:
        """Rank the gallery for one of its own tracklets (by position); its own entry is left out unless
        ``include_self``."""
        if not 0 <= position < len(self):
            raise IndexError(f"gallery position {position} out of range (index holds {len(self)} tracklets)")
        exclude = () if include_self else (position,)
        return self.rank(self.features[position], k, exclude=exclude, cameras=cameras)

    def set_nprobe(self, nprobe: int) -> None:
        if self.kind == "ivf":
            faiss.extract_index_ivf(self.index).nprobe = nprobe

    def add(self, features: np.ndarray, meta: list[dict]) -> None:
        """Append tracklets (their raw ``(n, D)`` features and records) without rebuilding: an IVF index keeps its
        trained cells, so a search ranks the new tracklets exactly as if they had been built in (flat), or within
        the cells visited (IVF)."""
        x = _prepare(features, self.metric)
        if len(meta) != x.shape[0]:
            raise ValueError(f"{x.shape[0]} features but {len(meta)} metadata records")
        if x.shape[1] != self.features.shape[1]:
            raise ValueError(f"new features have D={x.shape[1]}, the index holds D={self.features.shape[1]}")
        self.index.add(x)
        self.features = np.concatenate([self.features, np.asarray(features, np.float32)])
        self.meta = self.meta + list(meta)
        log.info("gallery index: added %d tracklets, %d in all", x.shape[0], len(self))

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # each file is written beside its final name and renamed over it, meta.json last: a reader (`serve` while
        # `index --add` runs) sees the old or the new file, and a count mismatch in between is refused, not misread
        tmp = folder / f".index.faiss.{os.getpid()}.tmp"
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, folder / "index.faiss")
        tmp = folder / f".features.{os.getpid()}.tmp.npy"
        np.save(tmp, self.features)
        os.replace(tmp, folder / "features.npy")
        record = {
            "version": INDEX_VERSION,
            "metric": self.metric,
            "kind": self.kind,
            "count": len(self),
            "info": self.info,
            "tracklets": self.meta,
        }
        tmp = folder / f".meta.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, folder / "meta.json")
        return folder

    @staticmethod
    def load(folder: str | Path) -> GalleryIndex:
        folder = Path(folder)
        missing = [n for n in ("index.faiss", "features.npy", "meta.json") if not (folder / n).is_file()]
        if missing:
            raise MissingInputError(f"{folder}: not a gallery index, missing {', '.join(missing)}")
        try:
            record = json.loads((folder / "meta.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise IndexFormatError(f"{folder / 'meta.json'}: not JSON ({err})") from None
        if not isinstance(record, dict):
            raise IndexFormatError(f"{folder / 'meta.json'}: not an index record (a JSON object)")
        version = record.get("version", 1)  # indexes written before the field existed have this layout
        if version != INDEX_VERSION:
            raise IndexFormatError(f"{folder / 'meta.json'}: index version {version!r}, this m3dreid reads version "
                             f"{INDEX_VERSION}; rebuild it with `m3dreid index`")  # fmt: skip
        missing = [k for k in ("metric", "kind", "info", "tracklets") if k not in record]
        if missing:
            raise IndexFormatError(f"{folder / 'meta.json'}: missing key(s) {', '.join(missing)}")
        try:
            index = faiss.read_index(str(folder / "index.faiss"))
        except RuntimeError:
            raise IndexFormatError(f"{folder / 'index.faiss'}: not a FAISS index (truncated or another file)") from None
        try:
            features = np.load(folder / "features.npy", allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise IndexFormatError(f"{folder / 'features.npy'}: unreadable ({err})") from None
        if not isinstance(record["tracklets"], list) or not all(isinstance(t, dict) for t in record["tracklets"]):
            raise IndexFormatError(f"{folder / 'meta.json'}: 'tracklets' must be a list of records (objects)")
        if not isinstance(record["info"], dict) or record["metric"] not in METRICS:
            raise IndexFormatError(f"{folder / 'meta.json'}: 'info' must be an object and 'metric' one of {METRICS}")
        if features.ndim != 2 or features.dtype.kind != "f" or features.shape[1:] != (index.d,):
            raise IndexFormatError(f"{folder / 'features.npy'}: expected (N, {index.d}) floats as index.faiss, "
                                   f"got {features.dtype} {features.shape}")  # fmt: skip
        if index.ntotal != len(record["tracklets"]) or features.shape[0] != index.ntotal:
            raise IndexFormatError(
                f"{folder}: index holds {index.ntotal} vectors, features.npy {features.shape[0]}, "
                f"meta.json {len(record['tracklets'])} records"
            )
        return GalleryIndex(index, features, record["tracklets"], record["metric"], record["kind"], record["info"])


SEARCH_KEYS = ("source", "video", "camid", "track_id", "num_frames", "thumbnails")  # of a `m3dreid index` record


def check_search_records(index: GalleryIndex, folder: str | Path) -> None:
    """The records of an index written by ``m3dreid index`` hold what ``m3dreid search`` shows."""
    for i, item in enumerate(index.meta):
        lacking = [k for k in SEARCH_KEYS if k not in item]
        if lacking or not isinstance(item.get("thumbnails"), list) or len(item["thumbnails"]) < 2:
            what = f"lacks {', '.join(lacking)}" if lacking else "has no thumbnail list"
            raise IndexFormatError(f"{Path(folder) / 'meta.json'}: tracklet record {i} {what}")
