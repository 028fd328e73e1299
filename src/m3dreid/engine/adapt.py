"""Self-supervised adaptation of a re-id network to one's own tracklets (``m3dreid adapt``): no labels.

What is known without labels, and used:

* frames of one tracklet are one person (positives);
* two tracklets visible in the same frame of one video are two people (certain negatives, "cannot-link");
* across time and cameras nothing is known; each round links tracklets that are *mutual* nearest neighbours under
  the current model (i's nearest allowed tracklet is j and j's is i) and closer than a distance threshold, and
  merges linked tracklets into pseudo-identities (union-find; a merge that would join two cannot-link tracklets is
  refused). The threshold is the ``link_quantiles[r]``-quantile of the tracklets' nearest-neighbour distances: the
  first round, under the least adapted model, links only the most confident pairs; later rounds, under a better
  model, admit more. Links are recomputed from scratch each round, so a wrong early link can be dropped.

Each round then trains ``steps`` Adam steps on P pseudo-identities x K clips (half of the identities drawn as a
cannot-link partner of another one in the batch, so that the certain negatives are in the batch): batch-hard
triplet loss plus cross-entropy over the round's pseudo-identities (a fresh linear head, dropped afterwards).

Cost is bounded whatever the footage: a tracklet is embedded from at most ``embed_frames`` evenly spaced frames,
neighbours are found by FAISS (exact, ``O(N)`` memory per query block), and training reads only the sampled clips.
The output is a checkpoint like ``m3dreid train``'s (``{"model", "config", "meta"}``), with ``meta["adapt"]``
recording what was done, so that ``index`` / ``search`` take it and know it is adapted.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from m3dreid.data.base import Tracklet

__all__ = ["AdaptConfig", "AdaptResult", "read_adapt_tracklets", "cannot_link_pairs", "mutual_links",
           "pseudo_labels", "adapt_model"]  # fmt: skip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaptConfig:
    rounds: int = 3
    steps: int = 60  # Adam steps a round
    lr: float = 2e-4
    ids_per_batch: int = 8  # P pseudo-identities a batch ...
    clips_per_id: int = 2  # ... x K clips
    seq_len: int = 4  # frames a training clip
    triplet_margin: float = 0.3
    link_quantiles: tuple[float, ...] = (0.3, 0.5, 0.7)  # per round (the last repeats)
    embed_frames: int = 16  # frames a tracklet is embedded from when linking
    min_length: int = 2
    seed: int = 0


@dataclass
class AdaptResult:
    model: nn.Module
    labels: np.ndarray  # (N,) the last round's pseudo-identity of every tracklet
    rounds: list[dict]  # per round: links, clusters, threshold, loss, wall and CPU seconds


def read_adapt_tracklets(dirs: Sequence[str | Path], *, min_length: int = 2) -> tuple[list[Tracklet], list[dict]]:
    """Tracklets of ``m3dreid tracklets`` folders plus, per tracklet, its folder (video) and the set of frames."""
    from m3dreid.index.tracklet_dirs import read_tracklet_dir
    from m3dreid.video.crops import read_tracks_csv

    tracklets, meta = [], []
    for v, folder in enumerate(dirs):
        ts, ms = read_tracklet_dir(folder, min_length=min_length)
        frames_of = {tid: {int(r["frame"]) for r in rows} for tid, rows in read_tracks_csv(folder).items()}
        for t, m in zip(ts, ms, strict=True):
            tracklets.append(t)
            meta.append({"video": v, "track_id": m["track_id"], "frames": frames_of[m["track_id"]]})
    return tracklets, meta


def cannot_link_pairs(meta: Sequence[dict]) -> set[tuple[int, int]]:
    """Pairs (i < j) of tracklets of one video that share a frame: two different people for certain."""
    pairs = set()
    by_video: dict[int, list[int]] = {}
    for i, m in enumerate(meta):
        by_video.setdefault(m["video"], []).append(i)
    for members in by_video.values():
        spans = sorted(members, key=lambda i: min(meta[i]["frames"]))
        for a_pos, a in enumerate(spans):
            last_a = max(meta[a]["frames"])
            for b in spans[a_pos + 1 :]:
                if min(meta[b]["frames"]) > last_a:
                    break
                if meta[a]["frames"] & meta[b]["frames"]:
                    pairs.add((min(a, b), max(a, b)))
    return pairs


def mutual_links(feats: np.ndarray, forbidden: set[tuple[int, int]], *, quantile: float, k: int = 10) -> list:
    """Pairs (i, j) that are each other's nearest allowed neighbour and closer than the ``quantile`` of the
    nearest-neighbour distances (squared Euclidean on unit vectors)."""
    import faiss

    x = np.ascontiguousarray(feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12), np.float32)
    n = len(x)
    if n < 2:
        return []
    index = faiss.IndexFlatL2(x.shape[1])
    index.add(x)
    dist, ids = index.search(x, min(n, k + 1))
    nearest = np.full(n, -1)
    nearest_d = np.full(n, np.inf)
    for i in range(n):
        for d, j in zip(dist[i], ids[i], strict=True):
            if j < 0 or j == i or (min(i, j), max(i, j)) in forbidden:
                continue
            nearest[i], nearest_d[i] = j, d
            break
    found = np.isfinite(nearest_d)
    if not found.any():
        return []
    threshold = float(np.quantile(nearest_d[found], quantile))
    return [(i, int(j)) for i, j in enumerate(nearest)
            if j > i and nearest[j] == i and nearest_d[i] <= threshold]  # fmt: skip


def pseudo_labels(n: int, links: Sequence[tuple[int, int]], forbidden: set[tuple[int, int]],
                  dist: Callable[[int, int], float] | None = None) -> np.ndarray:  # fmt: skip
    """Union-find over ``links`` (closest first when ``dist`` is given) refusing merges across ``forbidden``."""
    parent = list(range(n))
    members = {i: {i} for i in range(n)}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(links, key=lambda p: dist(*p)) if dist else list(links)
    for a, b in order:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if any((min(x, y), max(x, y)) in forbidden for x in members[ra] for y in members[rb]):
            continue
        parent[rb] = ra
        members[ra] |= members.pop(rb)
    roots = [find(i) for i in range(n)]
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def _embed(model: nn.Module, tracklets: Sequence[Tracklet], data_cfg, frames: int) -> np.ndarray:
    from m3dreid.index.embed import embed_tracklets

    short = []
    for t in tracklets:
        idx = np.linspace(0, len(t.frames) - 1, min(frames, len(t.frames))).round().astype(int)
        short.append(t._replace(frames=tuple(t.frames[i] for i in idx)))
    return embed_tracklets(model, short, data_cfg, chunk_size=64, device="cpu")


def _batches(labels: np.ndarray, partners: dict[int, set[int]], cfg: AdaptConfig, rng: np.random.Generator):
    """Endless (tracklet index, clip start) lists: P pseudo-ids x K clips, half of the ids a cannot-link partner."""
    by_label: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(int(lab), []).append(i)
    names = list(by_label)
    while True:
        chosen: list[int] = []
        while len(chosen) < min(cfg.ids_per_batch, len(names)):
            pool = [p for c in chosen for p in partners.get(c, ()) if p not in chosen]
            if pool and len(chosen) % 2 == 1:
                chosen.append(int(rng.choice(pool)))
            else:
                c = int(rng.choice(names))
                if c not in chosen:
                    chosen.append(c)
        yield [(int(rng.choice(by_label[c])), c) for c in chosen for _ in range(cfg.clips_per_id)]


def adapt_model(
    model: nn.Module,
    data_cfg,
    tracklets: Sequence[Tracklet],
    meta: Sequence[dict],
    cfg: AdaptConfig = AdaptConfig(),
    *,
    init_features: np.ndarray | None = None,
    progress: bool = False,
) -> AdaptResult:
    """Fine-tune ``model`` (in place) on ``tracklets`` as the module docstring says; ``init_features`` (``(N, D)``,
    e.g. the appearance descriptor) replace the model's own features for the first round's links."""
    from m3dreid.data.loader import load_frames
    from m3dreid.engine.losses import batch_hard_triplet_loss
    from m3dreid.engine.seeding import seed_everything

    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    forbidden = cannot_link_pairs(meta)
    n = len(tracklets)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.rounds * cfg.steps, desc="adapt", unit="step", dynamic_ncols=True)
    history, labels = [], np.arange(n)
    for r in range(cfg.rounds):
        start, cpu_start = time.perf_counter(), time.process_time()
        feats = init_features if (r == 0 and init_features is not None) else _embed(model, tracklets, data_cfg,
                                                                                   cfg.embed_frames)  # fmt: skip
        unit = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        quantile = cfg.link_quantiles[min(r, len(cfg.link_quantiles) - 1)]
        links = mutual_links(feats, forbidden, quantile=quantile)
        labels = pseudo_labels(n, links, forbidden, dist=lambda a, b, u=unit: float(((u[a] - u[b]) ** 2).sum()))
        num_ids = int(labels.max()) + 1
        partners: dict[int, set[int]] = {}
        for a, b in forbidden:
            partners.setdefault(int(labels[a]), set()).add(int(labels[b]))
            partners.setdefault(int(labels[b]), set()).add(int(labels[a]))
        head = nn.Linear(model.feature_dim, num_ids)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam([{"params": params}, {"params": head.parameters(), "lr": cfg.lr * 10}],
                                     lr=cfg.lr)  # fmt: skip
        model.train()
        batches = _batches(labels, partners, cfg, rng)
        losses = []
        for _ in range(cfg.steps):
            batch = next(batches)
            clips = []
            for i, _label in batch:
                t = tracklets[i]
                length = len(t.frames)
                s = int(rng.integers(0, max(1, length - cfg.seq_len + 1)))
                idx = [min(s + k, length - 1) for k in range(cfg.seq_len)]
                clip = load_frames(t, data_cfg, idx, flip=bool(rng.random() < 0.5))
                clips.append(clip)
            x = torch.stack(clips)  # (B, T, C, H, W)
            y = torch.tensor([label for _, label in batch])
            out = model(x)
            emb = out[0] if isinstance(out, tuple) else out  # (B, D)
            loss = batch_hard_triplet_loss(emb, y, margin=cfg.triplet_margin) + F.cross_entropy(head(emb), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(round=r + 1, loss=f"{losses[-1]:.3f}", ids=num_ids)
        model.eval()
        record = {"round": r + 1, "links": len(links), "pseudo_ids": num_ids, "tracklets": n,
                  "cannot_link": len(forbidden), "quantile": quantile, "loss": float(np.mean(losses)),
                  "seconds": round(time.perf_counter() - start, 1),
                  "cpu_seconds": round(time.process_time() - cpu_start, 1)}  # fmt: skip
        log.info("adapt round %d: %d links, %d pseudo-ids of %d tracklets, loss %.3f", r + 1, len(links), num_ids,
                 n, record["loss"])  # fmt: skip
        history.append(record)
    if bar is not None:
        bar.close()
    return AdaptResult(model=model, labels=labels, rounds=history)


def adapt_config_dict(cfg: AdaptConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
