"""Losses, optimizer/scheduler builders and RNG capture, against hand-worked numbers."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from m3dreid.engine import (
    batch_hard_triplet_loss,
    build_loss,
    build_optimizer,
    build_scheduler,
    capture_rng_state,
    restore_rng_state,
)


def test_batch_hard_triplet_hand_worked():
    # 1-D features: id 0 at 0 and 1, id 1 at 3 and 5.
    features = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
    pids = torch.tensor([0, 0, 1, 1])
    # anchor 0: pos 1, neg 3 -> 1-3+0.5 = -1.5 -> 0;  anchor 1: pos 1, neg 2 -> -0.5 -> 0
    # anchor 3 (at 3): pos 2, neg 2 -> 0.5;          anchor 4 (at 5): pos 2, neg 4 -> 0
    loss = batch_hard_triplet_loss(features, pids, margin=0.5)
    assert loss.item() == pytest.approx(0.5 / 4, abs=1e-5)


def test_triplet_skips_anchors_without_a_positive():
    features = torch.tensor([[0.0], [1.0], [3.0]], requires_grad=True)
    loss = batch_hard_triplet_loss(features, torch.tensor([0, 0, 1]), margin=3.0)
    # anchors 0 and 1 only: (1 - 3 + 3) and (1 - 2 + 3) -> mean 1.5
    assert loss.item() == pytest.approx(1.5, abs=1e-5)
    assert batch_hard_triplet_loss(features, torch.tensor([0, 1, 2]), margin=1.0).item() == 0.0


def test_reid_loss_sums_softmax_and_weighted_triplet():
    torch.manual_seed(0)
    features, logits, pids = torch.randn(6, 4), torch.randn(6, 3), torch.tensor([0, 0, 1, 1, 2, 2])
    ce = F.cross_entropy(logits, pids)
    tri = batch_hard_triplet_loss(features, pids, margin=0.3)
    total, parts = build_loss(kind="softmax+triplet", triplet_weight=0.5)(features, logits, pids)
    assert total.item() == pytest.approx((ce + 0.5 * tri).item(), abs=1e-6)
    assert set(parts) == {"ce", "triplet"}
    total, _ = build_loss(kind="softmax")(features, logits, pids)
    assert total.item() == pytest.approx(ce.item(), abs=1e-6)
    with pytest.raises(ValueError, match="needs logits"):
        build_loss(kind="softmax")(features, None, pids)
    with pytest.raises(ValueError, match="unknown loss 'focal'"):
        build_loss(kind="focal")


def test_step_schedule_and_no_decay_on_norms():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    opt = build_optimizer(model=model, name="sgd", lr=0.001, weight_decay=5e-4)
    assert [len(g["params"]) for g in opt.param_groups] == [1, 3]  # Linear weight | bias + BN weight, bias
    assert [g["weight_decay"] for g in opt.param_groups] == [5e-4, 0.0]
    sched = build_scheduler(optimizer=opt, step=10, gamma=0.1)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:10] == [0.001] * 10 and lrs[10:] == pytest.approx([0.0001] * 10)
    assert isinstance(build_optimizer(model=model, name="adam", lr=1e-3), torch.optim.Adam)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        build_optimizer(model=model, name="rmsprop", lr=1e-3)


def test_rng_capture_restore_round_trip(tmp_path):
    from m3dreid.weights import atomic_save, load_file

    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    atomic_save(state, tmp_path / "rng.pt")
    restore_rng_state(load_file(tmp_path / "rng.pt"))  # survives weights-only loading
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
