"""CMC, mAP and mINP from a distance matrix and pid / camera arrays: pure functions, no I/O.

Protocol (single query; the same rules as the MARS MATLAB kit ``evaluation_mars.m`` and torchreid):

- For each query the gallery is sorted by ascending distance. **Ties** keep gallery order (a stable sort, as
  MATLAB's ``sort``), so results do not depend on the sorting algorithm.
- **Junk** gallery items are removed from the ranked list before anything is counted: items with the query's pid
  *and* the query's camera (the same person seen by the same camera is too easy), and items whose pid is in
  ``junk_pids`` (MARS: ``-1``, the "junk" detections). Distractors (MARS pid 0) are ordinary non-matches.
- A **match** is a remaining item with the query's pid. Positions below are 1-based ranks in the list without junk.
- **CMC@r**: fraction of queries whose first match is at rank <= r.
- **AP**, two definitions (``ap_definition``):

  * ``"standard"`` (torchreid, scikit-learn's average precision): ``AP = 1/n * sum_k k / r_k`` over the n matches at
    ranks ``r_1 < ... < r_n``, i.e. the mean of the precision at each match.
  * ``"mars_kit"`` (``compute_AP.m`` of the official MARS / Market-1501 kit): a trapezoid rule on the
    precision-recall curve, ``AP = 1/n * sum_k (p_{k-1} + k / r_k) / 2`` where ``p_{k-1} = (k - 1) / (r_k - 1)`` is the
    precision at the rank just above the k-th match (1 when ``r_k = 1``). It is never above the standard AP.

- **INP** (Ye et al., TPAMI 2021): ``n / r_n``, the precision at the hardest (last) match; mINP is its mean.
- **Queries without a valid match** (every same-pid item is junk or absent) have no AP / INP / first-match rank. They
  are *excluded* from every average and counted in ``num_no_match`` (the MARS kit would return NaN for the whole mAP,
  torchreid drops them silently); the per-query arrays hold NaN / 0 for them so callers can apply another policy.

The work runs on ``device`` (``"auto"``: the distance matrix's device, CPU for numpy), vectorised over blocks of
queries: one stable sort of the block (torch on CUDA, numpy on the CPU), one cumulative sum for the ranks without
junk, then arithmetic on the short list of match positions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from m3dreid.evaluation.distance import as_tensor
from m3dreid.utils.device import resolve_device

__all__ = ["AP_DEFINITIONS", "RankingResult", "evaluate_rankings", "junk_mask", "cmc", "mean_ap", "minp"]

AP_DEFINITIONS = ("standard", "mars_kit")


@dataclass(frozen=True)
class RankingResult:
    """What :func:`evaluate_rankings` measured; averages are over the ``num_valid_queries`` queries with a match."""

    cmc: np.ndarray  # (max_rank,) CMC@1..max_rank
    mAP: float
    mINP: float
    num_queries: int
    num_valid_queries: int
    num_no_match: int
    ap: np.ndarray = field(repr=False)  # (Q,) per-query AP, NaN where the query has no valid match
    inp: np.ndarray = field(repr=False)  # (Q,) per-query INP, NaN where no match
    first_match: np.ndarray = field(repr=False)  # (Q,) 1-based rank of the first match, 0 where no match
    ap_definition: str = "standard"

    def rank(self, r: int) -> float:
        """CMC at rank ``r`` (1-based)."""
        return float(self.cmc[r - 1])

    def summary(self) -> dict:
        """Plain numbers for tables and JSON: rank-1/5/10/20 (those within max_rank), mAP, mINP and the counts."""
        out = {f"rank{r}": self.rank(r) for r in (1, 5, 10, 20) if r <= len(self.cmc)}
        out.update(mAP=self.mAP, mINP=self.mINP, num_queries=self.num_queries)
        out.update(num_valid_queries=self.num_valid_queries, num_no_match=self.num_no_match)
        out["ap_definition"] = self.ap_definition
        return out


def _sort_keys_numpy(dist: np.ndarray) -> np.ndarray:
    """``(B, G)`` gallery indices by ascending distance, ties in gallery order (what a stable sort gives).

    float32 distances become unique int64 keys ``(order-preserving float bits << 32) | gallery index``: with no two
    keys equal any sort gives the stable order, and numpy's int64 sort is about 10x faster than a stable argsort
    (and than torch's CPU sort). float64 distances use numpy's stable argsort.
    """
    if dist.dtype == np.float64:
        return np.argsort(dist, axis=1, kind="stable")
    bits = (dist.astype(np.float32) + np.float32(0.0)).view(np.int32)  # + 0.0 turns -0.0 into +0.0
    bits = np.where(bits < 0, bits ^ np.int32(0x7FFFFFFF), bits)  # negative floats: reverse their bit order
    keys = (bits.astype(np.int64) << 32) | np.arange(dist.shape[1], dtype=np.int64)[None, :]
    keys.sort(axis=1)
    return keys & 0xFFFFFFFF


def junk_mask(q_pid: int, q_camid: int, g_pids: np.ndarray, g_camids: np.ndarray, junk_pids=()) -> np.ndarray:
    """``(G,)`` True where a gallery item is junk for this query: same pid and camera, or a junk pid (MARS -1).

    The rule every ranked list follows (the match kernels below apply it to the sorted gallery, a block at a time).
    """
    g_pids, g_camids = np.asarray(g_pids), np.asarray(g_camids)
    junk = (g_pids == q_pid) & (g_camids == q_camid)
    return junk | np.isin(g_pids, np.asarray(list(junk_pids), dtype=np.int64))


def _match_list_numpy(dist, q_pids, q_cams, g_pids, g_cams, g_junk):
    """CPU: ``(r, pos)`` of every counted match (by query, then by rank), ``pos`` 1-based among non-junk items."""
    order = _sort_keys_numpy(dist)  # (B, G) gallery indices, nearest first
    same_pid = np.take(g_pids, order) == q_pids[:, None]  # (B, G)
    valid = ~np.take(g_junk, order) if g_junk is not None else np.ones(same_pid.shape, dtype=bool)
    r, c = np.nonzero(same_pid)  # same-pid items, row-major
    same_cam = g_cams[order[r, c]] == q_cams[r]
    valid[r[same_cam], c[same_cam]] = False  # same person, same camera: junk
    pos = np.cumsum(valid, axis=1, dtype=np.int32)  # (B, G) rank among non-junk items
    good = valid[r, c]  # same pid, and neither same camera nor a junk pid
    return r[good], pos[r[good], c[good]]


def _match_list_torch(dist, q_pids, q_cams, g_pids, g_cams, g_junk):
    """CUDA: the same as :func:`_match_list_numpy` with torch (a stable sort; ties in gallery order)."""
    order = torch.sort(dist, dim=1, stable=True).indices  # (B, G)
    same_pid = torch.take(g_pids, order) == q_pids[:, None]  # (B, G)
    valid = ~torch.take(g_junk, order) if g_junk is not None else torch.ones_like(same_pid)
    r, c = same_pid.nonzero(as_tuple=True)
    same_cam = g_cams[order[r, c]] == q_cams[r]
    valid[r[same_cam], c[same_cam]] = False
    pos = valid.cumsum(dim=1, dtype=torch.int32)  # (B, G)
    good = valid[r, c]  # same pid, and neither same camera nor a junk pid
    return r[good].cpu().numpy(), pos[r[good], c[good]].cpu().numpy()


def _scores(r: np.ndarray, pos: np.ndarray, num_b: int, ap_definition: str):
    """From the match list to (first match rank, AP, INP) per query, each (B,); NaN / 0 where no match."""
    n_good = np.bincount(r, minlength=num_b)  # (B,)
    row_start = np.cumsum(n_good) - n_good  # (B,) each query's first entry in the list
    k = (np.arange(len(r)) - row_start[r] + 1).astype(np.float64)  # k-th match of its query
    p = pos.astype(np.float64)  # its rank
    precision = k / p
    if ap_definition == "standard":
        terms = precision
    else:  # mars_kit: mean of the precision just above the match and at the match
        before = np.where(p > 1, (k - 1) / np.maximum(p - 1, 1), 1.0)
        terms = (before + precision) / 2
    ap_sum = np.bincount(r, weights=terms, minlength=num_b)
    has = n_good > 0
    first = np.zeros(num_b, dtype=np.int64)
    last = np.ones(num_b)
    first[has] = pos[row_start[has]]
    last[has] = p[row_start[has] + n_good[has] - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.where(has, ap_sum / np.maximum(n_good, 1), np.nan)
        inp = np.where(has, n_good / last, np.nan)
    return first, ap, inp


def evaluate_rankings(
    distmat: object,
    q_pids: object,
    g_pids: object,
    q_camids: object,
    g_camids: object,
    *,
    max_rank: int = 20,
    junk_pids: tuple | list = (),
    ap_definition: str = "standard",
    device: str | torch.device | None = "auto",
    block_elements: int = 1 << 22,
) -> RankingResult:
    """CMC / mAP / mINP of a ``(Q, G)`` distance matrix; see the module docstring for the exact protocol.

    ``block_elements`` bounds the size of the per-block temporaries (about 20 bytes per element). On CUDA the work
    runs in torch; on the CPU in numpy (its sort, gathers and cumulative sums are several times faster than torch's).
    """
    if ap_definition not in AP_DEFINITIONS:
        raise ValueError(f"unknown ap_definition '{ap_definition}' (known: {', '.join(AP_DEFINITIONS)})")
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    dev = resolve_device(device, distmat)
    on_gpu = dev.type == "cuda"
    if on_gpu:
        dist = as_tensor(distmat, device=dev)
    else:
        dist = distmat.detach().cpu().numpy() if isinstance(distmat, torch.Tensor) else np.asarray(distmat)
        dist = dist.astype(np.float32) if dist.dtype not in (np.float32, np.float64) else dist
    if dist.ndim != 2:
        raise ValueError(f"distmat must be (Q, G), got shape {tuple(dist.shape)}")
    num_q, num_g = dist.shape
    labels = {}
    for name, arr, size in (
        ("q_pids", q_pids, num_q),
        ("q_camids", q_camids, num_q),
        ("g_pids", g_pids, num_g),
        ("g_camids", g_camids, num_g),
    ):
        arr = arr.cpu().numpy() if isinstance(arr, torch.Tensor) else np.asarray(arr)
        arr = arr.astype(np.int64).reshape(-1)
        if arr.size != size:
            raise ValueError(f"{name} has {arr.size} entries but distmat is {num_q} x {num_g}")
        labels[name] = arr
    qp, qc, gp, gc = labels["q_pids"], labels["q_camids"], labels["g_pids"], labels["g_camids"]
    junk_list = [int(p) for p in junk_pids]
    g_junk = np.isin(gp, junk_list) if junk_list else None
    if bool(torch.isnan(dist).any() if on_gpu else np.isnan(dist).any()):
        raise ValueError("distmat holds NaN distances (features with NaN?)")
    if on_gpu:
        qp, qc, gp, gc = (torch.from_numpy(a).to(dev) for a in (qp, qc, gp, gc))
        g_junk = torch.from_numpy(g_junk).to(dev) if g_junk is not None else None
        match_list = _match_list_torch
    else:
        gp, gc = gp.astype(np.int32), gc.astype(np.int32)  # smaller gathers
        match_list = _match_list_numpy

    step = max(1, block_elements // max(num_g, 1))
    firsts, aps, inps = [np.zeros(0, dtype=np.int64)], [np.zeros(0)], [np.zeros(0)]
    for start in range(0, num_q, step):
        sl = slice(start, start + step)
        r, pos = match_list(dist[sl], qp[sl], qc[sl], gp, gc, g_junk)
        first, ap, inp = _scores(r, pos, len(qp[sl]), ap_definition)
        firsts.append(first)
        aps.append(ap)
        inps.append(inp)
    first, ap, inp = np.concatenate(firsts), np.concatenate(aps), np.concatenate(inps)

    valid = first > 0
    num_valid = int(valid.sum())
    if num_valid:
        ranks = first[valid]
        curve = (ranks[None, :] <= np.arange(1, max_rank + 1)[:, None]).mean(axis=1)  # (max_rank,)
        m_ap, m_inp = float(ap[valid].mean()), float(inp[valid].mean())
    else:
        curve, m_ap, m_inp = np.zeros(max_rank), float("nan"), float("nan")
    return RankingResult(
        cmc=curve.astype(np.float64),
        mAP=m_ap,
        mINP=m_inp,
        num_queries=num_q,
        num_valid_queries=num_valid,
        num_no_match=num_q - num_valid,
        ap=ap,
        inp=inp,
        first_match=first,
        ap_definition=ap_definition,
    )


def cmc(distmat, q_pids, g_pids, q_camids, g_camids, *, max_rank: int = 20, junk_pids=(), **kwargs) -> np.ndarray:
    """``(max_rank,)`` CMC curve; see :func:`evaluate_rankings`."""
    return evaluate_rankings(
        distmat, q_pids, g_pids, q_camids, g_camids, max_rank=max_rank, junk_pids=junk_pids, **kwargs
    ).cmc


def mean_ap(distmat, q_pids, g_pids, q_camids, g_camids, *, junk_pids=(), ap_definition="standard", **kwargs) -> float:
    """mAP over the queries with a valid match; see :func:`evaluate_rankings`."""
    result = evaluate_rankings(
        distmat, q_pids, g_pids, q_camids, g_camids, junk_pids=junk_pids, ap_definition=ap_definition, **kwargs
    )
    return result.mAP


def minp(distmat, q_pids, g_pids, q_camids, g_camids, *, junk_pids=(), **kwargs) -> float:
    """mINP over the queries with a valid match; see :func:`evaluate_rankings`."""
    return evaluate_rankings(distmat, q_pids, g_pids, q_camids, g_camids, junk_pids=junk_pids, **kwargs).mINP
