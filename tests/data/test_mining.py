"""Hard-identity mining in the P x K sampler: look-alikes (nearest by a similarity) meet in one batch."""

from __future__ import annotations

import numpy as np
import pytest

from m3dreid.data.samplers import PKBatchSampler


def _pids_of(sampler, pids):
    return [sorted({pids[i] for i, _ in batch}) for batch in sampler]


def test_mined_batches_hold_whole_groups_of_nearest_ids():
    pids = [p for p in range(12) for _ in range(3)]  # 12 identities, 3 tracklets each
    sampler = PKBatchSampler(pids, ids_per_batch=8, tracklets_per_id=2, seed=0, neighbours_per_id=4, num_batches=6)
    groups = np.arange(12) // 4  # three "look-alike" groups of four
    sampler.set_similarity((groups[:, None] == groups[None, :]).astype(float) + 0.01 * np.arange(12)[None, :])
    batches = _pids_of(sampler, pids)
    assert len(batches) == 6
    for batch in batches:
        assert len(batch) == 8
        assert sorted(np.bincount(groups[batch], minlength=3)) == [0, 4, 4]  # two whole groups
    # deterministic from the seed and epoch
    sampler.set_epoch(0)
    assert _pids_of(sampler, pids) == batches
    # without mining, batches of random identities rarely hold whole groups
    plain = PKBatchSampler(pids, ids_per_batch=8, tracklets_per_id=2, seed=0, num_batches=6)
    assert sum(sorted(np.bincount(groups[b], minlength=3)) == [0, 4, 4] for b in _pids_of(plain, pids)) < 6


def test_mining_arguments_are_checked():
    with pytest.raises(ValueError, match="not a multiple"):
        PKBatchSampler([0, 1, 2, 3], ids_per_batch=3, tracklets_per_id=1, seed=0, neighbours_per_id=2)
    sampler = PKBatchSampler([0, 1, 2, 3], ids_per_batch=2, tracklets_per_id=1, seed=0, neighbours_per_id=2)
    with pytest.raises(ValueError, match=r"similarity must be \(4, 4\)"):
        sampler.set_similarity(np.zeros((3, 3)))
    assert all(len(b) == 2 for b in sampler)  # no similarity yet: random neighbours
