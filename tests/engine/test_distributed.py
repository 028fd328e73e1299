"""Distributed helpers: single-process behaviour, the CPU SyncBN layer, and 2-process gloo DDP through the Trainer.

The DDP test trains the same tiny model (BatchNorm2d + BatchNorm3d) on the tiny synthetic set twice: with 2 gloo
ranks that each see half of every global batch, and in this process on the whole batches. Why the two must agree to
1e-5: the softmax loss is a per-sample mean, so DDP's average of the ranks' gradients equals the gradient of the
whole batch, and with ``sync_bn`` BatchNorm normalises with the statistics of the whole batch on every rank.
Without SyncBN each rank normalises with its own half-batch statistics, so that run only keeps the ranks identical
to each other (DDP's gradient averaging) and is checked to *differ* from the single-process run. A batch-hard
triplet loss would differ for the same reason (mining within each rank's half), so the test uses softmax only.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from ddp_worker import make_model, synthetic_batches, train, worker
from torch import nn

from m3dreid.engine import distributed as D
from m3dreid.engine.checkpoint import load_file
from m3dreid.engine.sync_bn import DistributedBatchNorm, convert_sync_batchnorm


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_env_world_reads_torchrun_variables(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert D.env_world() == (0, 1, 0)
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert D.env_world() == (3, 4, 1)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ValueError, match="RANK=4 does not fit WORLD_SIZE=4"):
        D.env_world()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK='x'"):
        D.env_world()


def test_single_process_fallbacks(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    info = D.init_distributed(device="cpu")
    assert (info.rank, info.world_size, info.is_main, info.backend) == (0, 1, True, "")
    assert (D.get_rank(), D.get_world_size(), D.is_main(), D.is_distributed()) == (0, 1, True, False)
    D.barrier()
    x = torch.arange(6.0).view(3, 2)  # (3, 2)
    assert torch.equal(D.all_gather_rows(x), x)
    assert D.shard_indices(5) == [0, 1, 2, 3, 4]
    assert D.shard_indices(7, rank=1, world_size=3) == [1, 4]
    assert torch.equal(D.gather_sharded(x[[2, 0, 1]], [2, 0, 1], 3), x)
    assert torch.equal(D.map_sharded(lambda part: x[part], [1, 2]), x[[1, 2]])
    with pytest.raises(ValueError, match="do not cover 0..3"):
        D.gather_sharded(x, [0, 1, 1], 4)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    assert D.wrap_model(model, device=torch.device("cpu"), sync_bn=True) is model  # no group: unchanged
    assert isinstance(model[1], nn.BatchNorm2d)


def test_distributed_batchnorm_equals_batchnorm_without_a_group():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(2, 4, 1), nn.BatchNorm3d(4), nn.Sequential(nn.BatchNorm3d(4, affine=False)))
    model[1].weight.data.uniform_(0.5, 1.5)
    model[1].running_mean.fill_(0.2)
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(3, 2, 4, 5, 6)  # (N, C, T, H, W)
    expected = model(x)
    model.load_state_dict(reference)
    converted = convert_sync_batchnorm(model)
    assert isinstance(converted[1], DistributedBatchNorm) and isinstance(converted[2][0], DistributedBatchNorm)
    assert converted[2][0].weight is None
    assert sorted(converted.state_dict()) == sorted(reference)
    assert torch.allclose(converted[1].running_mean, torch.full((4,), 0.2))
    assert torch.allclose(converted(x), expected, atol=1e-6)


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory):
    from m3dreid.data.synthetic import make_synthetic

    return make_synthetic(tmp_path_factory.mktemp("synthetic") / "tiny", size="tiny", seed=0)


def test_two_process_gloo_ddp_equals_single_process(tmp_path, tiny_synthetic):
    world = 2
    batches = synthetic_batches(Path(tiny_synthetic), tmp_path / "batches.pt")
    args = (world, _free_port(), str(tmp_path), str(batches))
    mp.start_processes(worker, args=args, nprocs=world, start_method="spawn")
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(world)]
    for rank, report in enumerate(reports):
        assert (report["rank"], report["world_size"], report["backend"]) == (rank, 2, "gloo")
        assert report["is_main"] == (rank == 0)
        assert report["gathered"] == [0.0, 0.0, 1.0, 1.0, 1.0]  # rank 0: 2 rows, rank 1: 3 rows
        assert report["shard"] == [[0, 2, 4], [1, 3]][rank]
        assert report["sharded"] == [0.0, 10.0, 20.0, 30.0, 40.0]
        assert report["mapped"] == [10.0, 12.0, 14.0]
        assert report["mean"] == pytest.approx(0.5)
    assert (tmp_path / "run_sync1" / "last.pt").is_file()  # written by rank 0 only, from the bare model
    assert all(not k.startswith("module.") for k in load_file(tmp_path / "run_sync1" / "last.pt")["model"])

    torch.manual_seed(0)
    single = train(tmp_path / "single", batches=batches, rank=0, world_size=1, sync_bn=False)
    start = make_model().state_dict()
    assert max((single[k].float() - start[k].float()).abs().max().item() for k in single) > 1e-2  # it did train

    for sync_bn in (1, 0):
        ranks = [load_file(tmp_path / f"rank{r}_sync{sync_bn}.pt") for r in range(world)]
        assert sorted(ranks[0]) == sorted(single)
        # Without SyncBN the BN running statistics stay per rank (updated after DDP's buffer broadcast): compare
        # the parameters then; with SyncBN everything, buffers included.
        keys = [k for k in single if sync_bn or not ("running_" in k or "num_batches" in k)]
        across_ranks = max((ranks[0][k].float() - ranks[1][k].float()).abs().max().item() for k in keys)
        assert across_ranks <= 1e-6, f"sync_bn={sync_bn}: ranks disagree by {across_ranks}"
        vs_single = max((ranks[0][k].float() - single[k].float()).abs().max().item() for k in single)
        if sync_bn:
            assert vs_single <= 1e-5, f"SyncBN DDP differs from the single-process run by {vs_single}"
        else:
            assert vs_single > 1e-4  # per-rank BN statistics: a different (equally valid) computation
