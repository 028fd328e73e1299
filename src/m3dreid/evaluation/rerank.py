"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) in memory that grows with N x k, not N x N.

The algorithm is the usual one (k1=20, k2=6, lambda=0.3 by default), over all ``N = Q + G`` tracklets:

1. ``d(i, j)``: squared Euclidean distance of the features (``metric="cosine"``: of the L2-normalised features, i.e.
   ``2 - 2 cos``), divided by the largest distance in row ``i``.
2. ``N(i, k)``: the ``k`` nearest items of ``i`` (``i`` itself included), in a fixed order: by distance, and on
   equal distances (e.g. a query and its own copy in the MARS gallery) the lower index first, on any device.
   The k-reciprocal set ``R(i, k1) = {j in N(i, k1 + 1) : i in N(j, k1 + 1)}``; the half sets ``R(c, round(k1 / 2))``
   likewise.
3. Expansion: ``R*(i) = R(i, k1)`` united with every ``R(c, round(k1/2))``, ``c in R(i, k1)``, that shares more than
   2/3 of its items with ``R(i, k1)``.
4. ``V[i, j] = exp(-d(i, j))`` for ``j in R*(i)``, rows normalised to sum 1; then local query expansion
   ``V[i] <- mean of V[r]`` over ``r in N(i, k2)`` (skipped when ``k2 == 1``).
5. Jaccard distance ``1 - s / (2 - s)`` with ``s = sum_k min(V[i, k], V[j, k])``; the result is
   ``(1 - lambda) * jaccard + lambda * d`` for query rows and gallery columns, ``(Q, G)``.

What makes it small: pass 1 computes the distance matrix a block of rows at a time and keeps only each row's
``k1 + 1`` nearest indices and its maximum; ``V`` is sparse (about ``N x 50`` entries, with the distances of those
pairs recomputed from the features); and ``s`` is accumulated only over pairs that share a non-zero column (an
inverted index: for every non-zero ``V[i, k]`` of a query, the gallery rows non-zero in column ``k``), in chunks of
at most ``max_pairs`` pairs. The only ``O(Q x G)`` array is the result. Everything is torch, on the GPU when the
features are there (or ``device="cuda"``).
"""

from __future__ import annotations

import logging

import torch

from m3dreid.evaluation.distance import query_gallery_tensors

__all__ = ["k_reciprocal_rerank", "nearest_neighbours"]

log = logging.getLogger(__name__)


def _sq_dist(a: torch.Tensor, a_sq: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ``(A, B)`` from rows and their squared norms, clamped at 0."""
    block = a @ b.t()  # (A, B)
    return block.mul_(-2.0).add_(b_sq[None, :]).add_(a_sq[:, None]).clamp_(min=0.0)


class _UniqueColumns:
    """Distances to a set of rows computed once per DISTINCT row, then gathered back to every column.

    Why: a GEMM may round the distance to two identical feature vectors differently (different tiles), which would
    turn an exact tie into an arbitrary order. Computing each distinct vector's column once gives identical features
    bit-identical distances, so a stable sort can apply the documented rule: on a tie the lowest index comes first.
    """

    def __init__(self, feats: torch.Tensor) -> None:
        self.unique, self.inverse = torch.unique(feats, dim=0, return_inverse=True)  # (U, D), (N,)
        self.unique_sq = (self.unique * self.unique).sum(dim=1)  # (U,)

    def sq_dist(self, rows: torch.Tensor, rows_sq: torch.Tensor) -> torch.Tensor:
        """Squared distances ``(B, N)`` of ``rows`` to every column."""
        return _sq_dist(rows, rows_sq, self.unique, self.unique_sq)[:, self.inverse]


def nearest_neighbours(feats: torch.Tensor, *, k: int, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, k)`` indices of each row's k nearest rows (nearest first; on equal distances the lower index first) and
    ``(N,)`` each row's largest distance."""
    num = feats.shape[0]
    sq = (feats * feats).sum(dim=1)  # (N,)
    columns = _UniqueColumns(feats)
    nbr = torch.empty(num, k, dtype=torch.int64, device=feats.device)
    row_max = torch.empty(num, dtype=feats.dtype, device=feats.device)
    for start in range(0, num, block_size):
        rows = slice(start, min(start + block_size, num))
        dist = columns.sq_dist(feats[rows], sq[rows])  # (B, N)
        row_max[rows] = dist.amax(dim=1)
        # a stable full sort, not topk: topk's order among equal values is unspecified (and differs across devices)
        nbr[rows] = torch.sort(dist, dim=1, stable=True).indices[:, :k]
    return nbr, row_max


def _reciprocal_mask(nbr: torch.Tensor, k: int, block_size: int) -> torch.Tensor:
    """``(N, k)`` bool: ``i`` is among the first ``k`` neighbours of ``nbr[i, a]`` (a k-reciprocal pair)."""
    num = nbr.shape[0]
    mask = torch.empty(num, k, dtype=torch.bool, device=nbr.device)
    for start in range(0, num, block_size):
        rows = torch.arange(start, min(start + block_size, num), device=nbr.device)  # (B,)
        back = nbr[nbr[rows, :k], :k]  # (B, k, k) neighbours of each neighbour
        mask[rows] = (back == rows[:, None, None]).any(dim=2)
    return mask


def _expansion_sets(nbr, recip, recip_half, rows, k_half):
    """``R*(i)`` for a block of rows: ``(B, M)`` sorted item indices and a ``(B, M)`` validity mask."""
    num = nbr.shape[0]
    cand = nbr[rows]  # (B, K1) candidates, valid where k-reciprocal
    cand_ok = recip[rows]  # (B, K1)
    half = nbr[cand, :k_half]  # (B, K1, Kh) each candidate's half-size neighbourhood
    half_ok = recip_half[cand]  # (B, K1, Kh) ... and which of them are k-reciprocal
    members = torch.where(cand_ok, cand, torch.full_like(cand, -1))  # (B, K1), -1 never matches an index
    in_r = (half[..., None] == members[:, None, None, :]).any(dim=3) & half_ok  # (B, K1, Kh)
    size = half_ok.sum(dim=2)  # (B, K1)
    accept = cand_ok & (3 * in_r.sum(dim=2) > 2 * size)  # shares more than 2/3 of its items with R(i)
    add_ok = half_ok & accept[..., None]  # (B, K1, Kh)
    items = torch.cat([cand, half.flatten(1)], dim=1)  # (B, K1 + K1*Kh)
    ok = torch.cat([cand_ok, add_ok.flatten(1)], dim=1)  # (B, K1 + K1*Kh)
    items = torch.where(ok, items, torch.full_like(items, num)).sort(dim=1).values  # invalid -> N, sorted last
    first = torch.ones_like(ok)
    first[:, 1:] = items[:, 1:] != items[:, :-1]  # drop repeats of the same item
    return items, first & (items < num)


def _pair_distances(feats, sq, left, right, chunk_elements):
    """Squared distances of the row pairs ``(left[p], right[p])``: ``(P,)``, computed in chunks of pairs."""
    out = torch.empty(left.shape[0], dtype=feats.dtype, device=feats.device)
    step = max(1, chunk_elements // max(feats.shape[1], 1))
    for start in range(0, left.shape[0], step):
        a, b = left[start : start + step], right[start : start + step]
        dots = (feats[a] * feats[b]).sum(dim=1)  # (p,)
        out[start : start + step] = (sq[a] + sq[b] - 2.0 * dots).clamp_(min=0.0)
    return out


def _sparse_v(feats, nbr, row_max, *, k1, block_size, chunk_elements):
    """Rows of V as COO arrays ``(row, col, value)``, sorted by row then column."""
    num = feats.shape[0]
    k_half = int(round(k1 / 2)) + 1  # round half to even, as numpy.around
    sq = (feats * feats).sum(dim=1)
    recip = _reciprocal_mask(nbr, k1 + 1, block_size)  # (N, K1)
    recip_half = _reciprocal_mask(nbr, k_half, block_size)  # (N, Kh)
    rows_out, cols_out, vals_out = [], [], []
    for start in range(0, num, block_size):
        rows = torch.arange(start, min(start + block_size, num), device=feats.device)  # (B,)
        items, ok = _expansion_sets(nbr, recip, recip_half, rows, k_half)  # (B, M)
        r = rows[:, None].expand_as(items)[ok]  # (P,) flattened valid pairs
        c = items[ok]  # (P,)
        weight = torch.exp(-_pair_distances(feats, sq, r, c, chunk_elements) / row_max[r])
        total = torch.zeros(num, dtype=weight.dtype, device=weight.device).index_add_(0, r, weight)
        rows_out.append(r)
        cols_out.append(c)
        vals_out.append(weight / total[r])
    return torch.cat(rows_out), torch.cat(cols_out), torch.cat(vals_out)


def _query_expansion(rows, cols, vals, nbr, *, k2):
    """``V[i] <- mean(V[r] for r in N(i, k2))`` on COO arrays; returns coalesced (row, col, value) sorted by row."""
    num = nbr.shape[0]
    counts = torch.bincount(rows, minlength=num)  # (N,) non-zeros per row of V
    starts = torch.cumsum(counts, 0) - counts  # (N,) rows are sorted, so each row is one slice
    src = nbr[:, :k2].reshape(-1)  # (N*k2,) source rows, target row i repeated k2 times
    target = torch.arange(num, device=nbr.device).repeat_interleave(k2)  # (N*k2,)
    reps = counts[src]
    offset = torch.arange(int(reps.sum()), device=nbr.device) - torch.repeat_interleave(
        torch.cumsum(reps, 0) - reps, reps
    )
    entry = torch.repeat_interleave(starts[src], reps) + offset  # index into the COO arrays
    new = torch.sparse_coo_tensor(
        torch.stack([torch.repeat_interleave(target, reps), cols[entry]]),
        vals[entry] / k2,
        (num, num),
        check_invariants=False,
    ).coalesce()
    idx = new.indices()
    return idx[0], idx[1], new.values()


def _jaccard_overlap(rows, cols, vals, *, num_query, num, max_pairs, out):
    """``out[i, j] = sum_k min(V[i, k], V[Q + j, k])`` for query rows i and gallery rows j (inverted index)."""
    num_gallery = num - num_query
    is_q = rows < num_query
    q_rows, q_cols, q_vals = rows[is_q], cols[is_q], vals[is_q]
    g_order = torch.argsort(cols[~is_q], stable=True)  # gallery entries grouped by column
    g_rows = rows[~is_q][g_order] - num_query
    g_cols = cols[~is_q][g_order]
    g_vals = vals[~is_q][g_order]
    col_count = torch.bincount(g_cols, minlength=num)  # (N,) gallery rows non-zero in each column
    col_start = torch.cumsum(col_count, 0) - col_count
    reps = col_count[q_cols]  # (E,) pairs each query entry creates
    ends = torch.cumsum(reps, 0)  # (E,)
    flat = out.view(-1)  # (Q*G,)
    start = 0
    num_entries = q_rows.shape[0]
    while start < num_entries:
        base = int(ends[start - 1]) if start else 0
        stop = int(torch.searchsorted(ends, base + max_pairs, right=True))
        stop = max(stop, start + 1)
        rep = reps[start:stop]
        offset = torch.arange(int(rep.sum()), device=out.device) - torch.repeat_interleave(
            torch.cumsum(rep, 0) - rep, rep
        )
        g_entry = torch.repeat_interleave(col_start[q_cols[start:stop]], rep) + offset  # (P,)
        contrib = torch.minimum(torch.repeat_interleave(q_vals[start:stop], rep), g_vals[g_entry])  # (P,)
        target = torch.repeat_interleave(q_rows[start:stop], rep) * num_gallery + g_rows[g_entry]  # (P,)
        flat.index_add_(0, target, contrib.to(out.dtype))
        start = stop
    return out


@torch.no_grad()
def k_reciprocal_rerank(
    query: object,
    gallery: object,
    *,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    metric: str = "euclidean",
    block_size: int = 1024,
    max_pairs: int = 1 << 22,
    device: str | torch.device | None = "auto",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Re-ranked ``(Q, G)`` distances of query features ``(Q, D)`` and gallery features ``(G, D)``.

    See the module docstring for the algorithm. ``block_size`` rows of the distance matrix and at most ``max_pairs``
    Jaccard pairs exist at once; the result is on ``device`` (``"auto"``: the query tensor's device).
    """
    q, g = query_gallery_tensors(query, gallery, metric=metric, device=device, dtype=dtype)
    feats = torch.cat([q, g])  # (N, D), queries first
    if metric == "cosine":
        feats = torch.nn.functional.normalize(feats, dim=1)
    num, num_query = feats.shape[0], q.shape[0]
    if not 1 <= k2 <= k1 + 1 or k1 + 1 > num:
        raise ValueError(f"re-ranking needs 1 <= k2 <= k1 + 1 <= N, got k1={k1}, k2={k2}, N={num}")
    chunk_elements = 1 << 22

    nbr, row_max = nearest_neighbours(feats, k=k1 + 1, block_size=block_size)  # (N, k1+1), (N,)
    row_max = row_max.clamp(min=torch.finfo(dtype).tiny)
    rows, cols, vals = _sparse_v(feats, nbr, row_max, k1=k1, block_size=block_size, chunk_elements=chunk_elements)
    if k2 != 1:
        rows, cols, vals = _query_expansion(rows, cols, vals, nbr, k2=k2)
    log.debug("re-ranking: N=%d, %.1f non-zeros a row of V", num, rows.shape[0] / num)

    out = torch.zeros(num_query, num - num_query, dtype=dtype, device=q.device)  # (Q, G)
    _jaccard_overlap(rows, cols, vals, num_query=num_query, num=num, max_pairs=max_pairs, out=out)
    sq = (feats * feats).sum(dim=1)
    gallery_columns = _UniqueColumns(feats[num_query:])
    for start in range(0, num_query, block_size):
        r = slice(start, min(start + block_size, num_query))
        dist = gallery_columns.sq_dist(feats[r], sq[r])  # (B, G)
        overlap = out[r]  # (B, G) view: s, turned into the final distance in place
        jaccard = overlap.div_(2.0 - overlap).neg_().add_(1.0)  # 1 - s / (2 - s)
        jaccard.mul_(1.0 - lambda_value).add_(dist.div_(row_max[r, None]).mul_(lambda_value))
    return out
