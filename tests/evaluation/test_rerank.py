"""Blocked sparse k-reciprocal re-ranking against a dense, loop-by-loop reference written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from m3dreid.evaluation.rerank import k_reciprocal_rerank


def dense_rerank(query, gallery, *, k1, k2, lambda_value, metric="euclidean"):
    """Every matrix N x N, one row at a time, following Zhong et al. (CVPR 2017) step by step."""
    feats = np.concatenate([query, gallery]).astype(np.float64)
    if metric == "cosine":
        feats = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    num, num_q = len(feats), len(query)
    dist = ((feats[:, None, :] - feats[None, :, :]) ** 2).sum(-1)
    dist = dist / dist.max(axis=1, keepdims=True)
    rank = np.argsort(dist, axis=1, kind="stable")
    half = int(np.around(k1 / 2))

    def reciprocal(i, k):
        forward = rank[i, : k + 1]
        return [j for j in forward if i in rank[j, : k + 1]]

    full_sets = [reciprocal(i, k1) for i in range(num)]
    half_sets = [reciprocal(i, half) for i in range(num)]
    v = np.zeros((num, num))
    for i in range(num):
        r_i = full_sets[i]
        expansion = set(r_i)
        for c in r_i:
            r_c = half_sets[c]
            if len(set(r_c) & set(r_i)) > 2 / 3 * len(r_c):
                expansion |= set(r_c)
        idx = sorted(expansion)
        weight = np.exp(-dist[i, idx])
        v[i, idx] = weight / weight.sum()
    if k2 != 1:
        v = np.stack([v[rank[i, :k2]].mean(axis=0) for i in range(num)])
    jaccard = np.zeros((num_q, num))
    for i in range(num_q):
        overlap = np.minimum(v[i][None, :], v).sum(axis=1)
        jaccard[i] = 1 - overlap / (2 - overlap)
    final = (1 - lambda_value) * jaccard + lambda_value * dist[:num_q]
    return final[:, num_q:]


def clustered_features(num_ids, per_id, dim, seed):
    """Identities as noisy copies of a centre: neighbourhoods with real k-reciprocal structure."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_ids, dim))
    feats = np.repeat(centres, per_id, axis=0) + 0.7 * rng.normal(size=(num_ids * per_id, dim))
    return feats[rng.permutation(len(feats))]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_blocked_rerank_equals_dense_reference_n300(metric):
    feats = clustered_features(num_ids=30, per_id=10, dim=16, seed=0)  # N = 300
    query, gallery = feats[:60], feats[60:]
    expected = dense_rerank(query, gallery, k1=20, k2=6, lambda_value=0.3, metric=metric)
    # small blocks and pair chunks so that every blocked loop runs several times
    got = k_reciprocal_rerank(
        query, gallery, k1=20, k2=6, lambda_value=0.3, metric=metric, block_size=37, max_pairs=5000, dtype=torch.float64
    )
    assert got.shape == (60, 240)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5, rtol=0)


def test_rerank_float32_default_and_other_k():
    feats = clustered_features(num_ids=12, per_id=8, dim=8, seed=1)  # N = 96
    query, gallery = feats[:20], feats[20:]
    expected = dense_rerank(query, gallery, k1=7, k2=1, lambda_value=0.5)  # odd k1, no query expansion
    got = k_reciprocal_rerank(torch.from_numpy(query).float(), gallery, k1=7, k2=1, lambda_value=0.5)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="k2"):
        k_reciprocal_rerank(query, gallery, k1=3, k2=6)


@pytest.mark.parametrize("block_size", [7, 1024])
def test_exact_ties_lowest_index_first_and_equal_to_the_reference(block_size):
    """The official MARS gallery holds every query: exact duplicates. Their order is fixed (lowest index first), so
    the result equals the dense reference (stable argsort) exactly in the neighbour sets, whatever the blocking."""
    from m3dreid.evaluation.rerank import nearest_neighbours

    base = clustered_features(num_ids=12, per_id=6, dim=8, seed=3).astype(np.float32)  # 72 distinct rows
    query = base[:20]
    gallery = np.concatenate([base[20:], query[::-1], query[:5]])  # every query twice or three times in the gallery
    feats = torch.from_numpy(np.concatenate([query, gallery]))
    nbr, _ = nearest_neighbours(feats, k=12, block_size=block_size)
    dist = ((feats[:, None].double() - feats[None].double()) ** 2).sum(-1).numpy()
    reference = np.argsort(dist, axis=1, kind="stable")[:, :12]
    # among exact duplicates the lower index always comes first
    assert np.array_equal(nbr.numpy(), reference)
    ours = k_reciprocal_rerank(query, gallery, k1=10, k2=4, lambda_value=0.3, block_size=block_size, device="cpu")
    ref = dense_rerank(query, gallery, k1=10, k2=4, lambda_value=0.3)
    assert np.abs(ours.numpy() - ref).max() < 1e-5
    # a query's copies in the gallery are at identical re-ranked distances
    q0_copies = [len(base) - 20 + 19, len(base) - 20 + 20]  # query[0] appears at these gallery columns
    assert ours[0, q0_copies[0]] == ours[0, q0_copies[1]]
