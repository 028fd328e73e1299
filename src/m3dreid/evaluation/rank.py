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

The work runs in torch on ``device`` (``"auto"``: the distance matrix's device, CPU for numpy), vectorised over
blocks of queries: one stable sort of the block, then cumulative sums give every rank at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from m3dreid.evaluation.distance import as_tensor, resolve_device

__all__ = ["AP_DEFINITIONS", "RankingResult", "evaluate_rankings", "cmc", "mean_ap", "minp"]

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


def _rank_block(dist, q_pids, q_cams, g_pids, g_cams, g_junk, ap_definition):
    """One block of queries -> (first match rank, AP, INP), each (B,), NaN / 0 where no match."""
    order = torch.sort(dist, dim=1, stable=True).indices  # (B, G) gallery indices, nearest first
    gp = g_pids[order]  # (B, G)
    same_pid = gp == q_pids[:, None]
    junk = (same_pid & (g_cams[order] == q_cams[:, None])) | g_junk[order]
    valid = ~junk
    good = same_pid & valid  # (B, G) matches that count
    pos = valid.cumsum(dim=1)  # (B, G) 1-based rank among non-junk items (meaningful where valid)
    hits = good.cumsum(dim=1)  # (B, G) k: matches up to and including this position
    n_good = good.sum(dim=1)  # (B,)
    big = torch.iinfo(pos.dtype).max
    first = torch.where(good, pos, big).amin(dim=1)
    last = torch.where(good, pos, 0).amax(dim=1)

    posf = pos.clamp(min=1).double()
    hitsf = hits.double()
    precision = hitsf / posf  # (B, G) precision at each position
    if ap_definition == "standard":
        terms = precision
    else:  # mars_kit: mean of the precision just above the match and at the match
        before = torch.where(pos > 1, (hitsf - 1) / (posf - 1).clamp(min=1), torch.ones_like(posf))
        terms = (before + precision) / 2
    ap_sum = torch.where(good, terms, torch.zeros_like(terms)).sum(dim=1)  # (B,)
    has = n_good > 0
    n = n_good.double()
    nan = torch.full_like(n, float("nan"))
    ap = torch.where(has, ap_sum / n.clamp(min=1), nan)
    inp = torch.where(has, n / last.double().clamp(min=1), nan)
    first = torch.where(has, first, torch.zeros_like(first))
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

    ``block_elements`` bounds the size of the per-block temporaries (about 60 bytes per element).
    """
    if ap_definition not in AP_DEFINITIONS:
        raise ValueError(f"unknown ap_definition '{ap_definition}' (known: {', '.join(AP_DEFINITIONS)})")
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    dev = resolve_device(device, distmat)
    dist = as_tensor(distmat, device=dev)
    if dist.dim() != 2:
        raise ValueError(f"distmat must be (Q, G), got shape {tuple(dist.shape)}")
    num_q, num_g = dist.shape
    qp = as_tensor(q_pids, device=dev, dtype=torch.int64).reshape(-1)
    gp = as_tensor(g_pids, device=dev, dtype=torch.int64).reshape(-1)
    qc = as_tensor(q_camids, device=dev, dtype=torch.int64).reshape(-1)
    gc = as_tensor(g_camids, device=dev, dtype=torch.int64).reshape(-1)
    for name, arr, size in (
        ("q_pids", qp, num_q),
        ("q_camids", qc, num_q),
        ("g_pids", gp, num_g),
        ("g_camids", gc, num_g),
    ):
        if arr.numel() != size:
            raise ValueError(f"{name} has {arr.numel()} entries but distmat is {num_q} x {num_g}")
    junk_list = [int(p) for p in junk_pids]
    g_junk = torch.isin(gp, torch.tensor(junk_list, dtype=torch.int64, device=dev)) if junk_list else gp != gp

    step = max(1, block_elements // max(num_g, 1))
    firsts, aps, inps = [], [], []
    for start in range(0, num_q, step):
        sl = slice(start, start + step)
        first, ap, inp = _rank_block(dist[sl], qp[sl], qc[sl], gp, gc, g_junk, ap_definition)
        firsts.append(first.cpu())
        aps.append(ap.cpu())
        inps.append(inp.cpu())
    first = torch.cat(firsts).numpy() if firsts else np.zeros(0, dtype=np.int64)
    ap = torch.cat(aps).numpy() if aps else np.zeros(0)
    inp = torch.cat(inps).numpy() if inps else np.zeros(0)

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
