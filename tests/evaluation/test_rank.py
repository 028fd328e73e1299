"""CMC / mAP / mINP against hand-worked rankings and a naive per-query loop written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from m3dreid.evaluation.distance import pairwise_distance
from m3dreid.evaluation.rank import _match_list_numpy, _match_list_torch, cmc, evaluate_rankings, mean_ap, minp


def naive_metrics(distmat, q_pids, g_pids, q_cams, g_cams, *, junk_pids, ap_definition, max_rank):
    """One query at a time, one gallery item at a time, the way the MATLAB kit walks a ranked list."""
    firsts, aps, inps = [], [], []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        n_good = sum(
            1
            for j in range(len(g_pids))
            if g_pids[j] == q_pids[i] and g_cams[j] != q_cams[i] and g_pids[j] not in junk_pids
        )
        if n_good == 0:
            firsts.append(0)
            aps.append(np.nan)
            inps.append(np.nan)
            continue
        rank, hits, ap, prev_precision, first, last = 0, 0, 0.0, 1.0, 0, 0
        for j in order:
            if g_pids[j] in junk_pids or (g_pids[j] == q_pids[i] and g_cams[j] == q_cams[i]):
                continue
            rank += 1
            is_match = g_pids[j] == q_pids[i]
            if is_match:
                hits += 1
                first = first or rank
                last = rank
                precision = hits / rank
                ap += precision if ap_definition == "standard" else (prev_precision + precision) / 2
            prev_precision = hits / rank
        firsts.append(first)
        aps.append(ap / n_good)
        inps.append(n_good / last)
    firsts, aps, inps = np.array(firsts), np.array(aps), np.array(inps)
    ok = firsts > 0
    curve = np.array([(firsts[ok] <= r).mean() for r in range(1, max_rank + 1)])
    return curve, aps[ok].mean(), inps[ok].mean(), int((~ok).sum()), aps


@pytest.mark.parametrize("ap_definition", ["standard", "mars_kit"])
@pytest.mark.parametrize("junk_pids", [(), (-1,)])
def test_matches_naive_loop_on_random_data(ap_definition, junk_pids):
    rng = np.random.default_rng(0)
    num_q, num_g = 37, 211
    q_pids = rng.integers(0, 12, num_q)
    g_pids = rng.integers(-1, 14, num_g)
    q_cams, g_cams = rng.integers(0, 4, num_q), rng.integers(0, 4, num_g)
    distmat = np.round(rng.random((num_q, num_g)), 2)  # two decimals: many ties
    curve, m_ap, m_inp, no_match, aps = naive_metrics(
        distmat, q_pids, g_pids, q_cams, g_cams, junk_pids=junk_pids, ap_definition=ap_definition, max_rank=20
    )
    result = evaluate_rankings(
        distmat, q_pids, g_pids, q_cams, g_cams, junk_pids=junk_pids, ap_definition=ap_definition, block_elements=1000
    )
    np.testing.assert_allclose(result.cmc, curve, atol=1e-12)
    assert result.mAP == pytest.approx(m_ap, abs=1e-12)
    assert result.mINP == pytest.approx(m_inp, abs=1e-12)
    assert result.num_no_match == no_match
    assert result.num_valid_queries + result.num_no_match == num_q
    np.testing.assert_allclose(result.ap, aps, atol=1e-12)  # NaN in the same places
    # torch input gives the same numbers as numpy input
    again = evaluate_rankings(
        torch.from_numpy(distmat), q_pids, g_pids, q_cams, g_cams, junk_pids=junk_pids, ap_definition=ap_definition
    )
    assert again.mAP == pytest.approx(result.mAP, abs=1e-12)


def test_float32_keys_keep_stable_order_with_negatives_ties_and_signed_zero():
    # float32 distances take the packed-key sort on the CPU: check it against the naive loop on the same values
    rng = np.random.default_rng(5)
    num_q, num_g = 23, 157
    q_pids, g_pids = rng.integers(0, 8, num_q), rng.integers(0, 9, num_g)
    q_cams, g_cams = rng.integers(0, 3, num_q), rng.integers(0, 3, num_g)
    distmat = (np.round(rng.random((num_q, num_g)), 1) - 0.5).astype(np.float32)  # negatives, many ties
    distmat[:, ::7] = -0.0  # -0.0 ties with +0.0
    for ap_definition in ("standard", "mars_kit"):
        curve, m_ap, m_inp, no_match, aps = naive_metrics(
            distmat, q_pids, g_pids, q_cams, g_cams, junk_pids=(), ap_definition=ap_definition, max_rank=20
        )
        result = evaluate_rankings(distmat, q_pids, g_pids, q_cams, g_cams, ap_definition=ap_definition)
        np.testing.assert_allclose(result.cmc, curve, atol=1e-12)
        np.testing.assert_allclose(result.ap, aps, atol=1e-12)
        assert result.mINP == pytest.approx(m_inp, abs=1e-12)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_rankings(np.full((1, 2), np.nan), [0], [0, 1], [0], [1, 1])


def test_hand_worked_single_query_both_ap_definitions():
    # Query pid 1, camera 0. Ranked gallery (distance 0..5): match, miss, match, miss, miss, match; matches at 1, 3, 6.
    dist = np.arange(6, dtype=np.float64)[None, :]
    g_pids = [1, 2, 1, 3, 4, 1]
    g_cams = [1, 1, 2, 1, 1, 3]
    args = (dist, [1], g_pids, [0], g_cams)
    standard = evaluate_rankings(*args, ap_definition="standard", max_rank=6)
    # standard AP = (1/1 + 2/3 + 3/6) / 3
    assert standard.mAP == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    # kit AP = [(1 + 1)/2 + (1/2 + 2/3)/2 + (2/5 + 3/6)/2] / 3
    kit = evaluate_rankings(*args, ap_definition="mars_kit", max_rank=6)
    assert kit.mAP == pytest.approx((1.0 + (0.5 + 2 / 3) / 2 + (0.4 + 0.5) / 2) / 3)
    assert kit.mAP == pytest.approx(0.6777777777777778)
    assert standard.mINP == pytest.approx(3 / 6)
    np.testing.assert_array_equal(standard.cmc, [1, 1, 1, 1, 1, 1])


def test_hand_worked_junk_removed_before_ranking():
    # Query pid 7, camera 2. Ranked: same pid+camera (junk), pid -1 (junk), miss, match, match.
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    g_pids = [7, -1, 3, 7, 7]
    g_cams = [2, 0, 0, 1, 3]
    result = evaluate_rankings(dist, [7], g_pids, [2], g_cams, junk_pids=(-1,), max_rank=3)
    # without junk the list is miss, match, match: matches at ranks 2 and 3
    np.testing.assert_array_equal(result.cmc, [0, 1, 1])
    assert result.mAP == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert result.mINP == pytest.approx(2 / 3)
    kit = evaluate_rankings(dist, [7], g_pids, [2], g_cams, junk_pids=(-1,), ap_definition="mars_kit")
    assert kit.mAP == pytest.approx(((0 + 1 / 2) / 2 + (1 / 2 + 2 / 3) / 2) / 2)
    # pid -1 not declared junk: it is an ordinary miss and pushes the matches down one rank
    plain = evaluate_rankings(dist, [7], g_pids, [2], g_cams, max_rank=3)
    np.testing.assert_array_equal(plain.cmc, [0, 0, 1])


def test_hand_worked_ties_keep_gallery_order():
    dist = np.array([[0.5, 0.5, 0.2]])
    # match at gallery index 1 ties with a miss at index 0: the miss comes first -> rank 3
    late = evaluate_rankings(dist, [1], [0, 1, 0], [0], [1, 1, 1], max_rank=3)
    np.testing.assert_array_equal(late.cmc, [0, 0, 1])
    assert late.mAP == pytest.approx(1 / 3)
    # match at index 0 ties with a miss at index 1: the match comes first -> rank 2
    early = evaluate_rankings(dist, [1], [1, 0, 0], [0], [1, 1, 1], max_rank=3)
    np.testing.assert_array_equal(early.cmc, [0, 1, 1])
    assert early.mAP == pytest.approx(1 / 2)


def test_hand_worked_no_match_queries_are_counted_not_averaged():
    dist = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.1, 0.2, 0.3]])
    g_pids = [1, 2, 9]
    g_cams = [1, 1, 1]
    # query 0: pid 1 match at rank 1 (AP 1); query 1: pid 2 match at rank 2 (AP 1/2);
    # query 2: pid 9 but only seen by its own camera -> junk -> no valid match
    result = evaluate_rankings(dist, [1, 2, 9], g_pids, [0, 0, 1], g_cams, max_rank=2)
    assert result.num_queries == 3
    assert result.num_no_match == 1
    assert result.num_valid_queries == 2
    assert result.mAP == pytest.approx(0.75)
    np.testing.assert_array_equal(result.cmc, [0.5, 1.0])
    np.testing.assert_array_equal(result.first_match, [1, 2, 0])
    assert np.isnan(result.ap[2])
    # the thin wrappers give the same numbers
    assert mean_ap(dist, [1, 2, 9], g_pids, [0, 0, 1], g_cams) == pytest.approx(0.75)
    assert minp(dist, [1, 2, 9], g_pids, [0, 0, 1], g_cams) == pytest.approx(0.75)
    np.testing.assert_array_equal(cmc(dist, [1, 2, 9], g_pids, [0, 0, 1], g_cams, max_rank=2), [0.5, 1.0])
    # no query with a match: NaN averages, all counted
    none = evaluate_rankings(dist[2:], [9], g_pids, [1], g_cams)
    assert none.num_no_match == 1 and np.isnan(none.mAP)


def test_distances_euclidean_squared_and_cosine():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(5, 8)), rng.normal(size=(7, 8))
    expected = ((q[:, None, :] - g[None, :, :]) ** 2).sum(-1)
    sq = pairwise_distance(q, g, block_size=2, dtype=torch.float64).numpy()
    np.testing.assert_allclose(sq, expected, atol=1e-10)
    plain = pairwise_distance(q, g, squared=False, dtype=torch.float64).numpy()
    np.testing.assert_allclose(plain, np.sqrt(expected), atol=1e-10)
    cos = pairwise_distance(q, g, metric="cosine", block_size=3, dtype=torch.float64).numpy()
    qn, gn = q / np.linalg.norm(q, axis=1, keepdims=True), g / np.linalg.norm(g, axis=1, keepdims=True)
    np.testing.assert_allclose(cos, 1 - qn @ gn.T, atol=1e-10)
    with pytest.raises(ValueError, match="unknown distance metric"):
        pairwise_distance(q, g, metric="manhattan")


def test_torch_backend_equals_numpy_backend():
    # the torch path is the one CUDA runs; on the CPU it must give the same match list as the numpy path
    rng = np.random.default_rng(7)
    dist = np.round(rng.random((31, 120)), 2).astype(np.float32)
    q_pids, g_pids = rng.integers(-1, 6, 31), rng.integers(-1, 6, 120)
    q_cams, g_cams = rng.integers(0, 3, 31), rng.integers(0, 3, 120)
    junk = np.isin(g_pids, [-1])
    r_np, pos_np = _match_list_numpy(dist, q_pids, q_cams, g_pids, g_cams, junk)
    tensors = [torch.from_numpy(a) for a in (dist, q_pids, q_cams, g_pids, g_cams, junk)]
    r_t, pos_t = _match_list_torch(*tensors)
    np.testing.assert_array_equal(r_t, r_np)
    np.testing.assert_array_equal(pos_t, pos_np)
    assert len(r_np) > 50
