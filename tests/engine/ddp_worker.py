"""Helpers (not a test module) for tests/engine/test_distributed.py: the body of each spawned DDP rank.

Each rank gets the torchrun environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), joins a
gloo group through ``init_distributed`` exactly as under ``torchrun``, checks the collectives, trains with the real
``Trainer`` on its half of every global batch of the tiny synthetic set, and saves its final state dict for the
parent test to compare.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

import torch
from torch import nn

from m3dreid.config import config_from_dict
from m3dreid.engine import distributed as D
from m3dreid.engine.trainer import Trainer
from m3dreid.models.base import VideoReIDModel
from m3dreid.weights import atomic_save, load_file

NUM_IDS = 9  # training identities of the tiny synthetic set
GLOBAL_BATCH = 8  # 4 identities x 2 tracklets; each of 2 ranks takes 4


class TinyTemporalNet(VideoReIDModel):
    """Per-frame Conv2d + BatchNorm2d, a temporal Conv3d + BatchNorm3d, temporal mean, classifier.

    Both BN kinds make the forward depend on the whole batch, which is what SyncBN must reproduce across ranks.
    """

    temporal_radius = 1

    def __init__(self, *, num_classes: int, dim: int = 6) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, dim, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(dim)
        self.temporal = nn.Conv3d(dim, dim, kernel_size=(3, 1, 1), padding=(1, 0, 0), bias=False)
        self.bn3d = nn.BatchNorm3d(dim)
        self.feature_dim = dim
        self.head = nn.Linear(dim, num_classes)

    def frame_features(self, clip: torch.Tensor) -> torch.Tensor:
        b, t = clip.shape[:2]
        x = torch.relu(self.bn(self.conv(clip.flatten(0, 1))))  # (B*T, d, H, W)
        x = x.view(b, t, *x.shape[1:]).transpose(1, 2)  # (B, d, T, H, W)
        x = x + torch.relu(self.bn3d(self.temporal(x)))  # (B, d, T, H, W)
        return x.mean((3, 4)).transpose(1, 2)  # (B, T, d)

    def aggregate(self, frame_feats: torch.Tensor) -> torch.Tensor:
        return frame_feats.mean(1)  # (B, D)

    def forward(self, clip: torch.Tensor):
        features = self.aggregate(self.frame_features(clip))  # (B, D)
        return (features, self.head(features)) if self.training else features


def make_model() -> TinyTemporalNet:
    torch.manual_seed(0)
    return TinyTemporalNet(num_classes=NUM_IDS)


def synthetic_batches(root: Path, out: Path, *, epochs: int = 2, per_epoch: int = 2) -> Path:
    """Global batches of the tiny synthetic set through m3dreid's own P x K loader, saved to ``out`` for all ranks.

    Each batch is ``(clips (8, 4, 3, 64, 32), pids (8,), camids (8,))``: 4 identities x 2 tracklets. Decoding once in
    the parent keeps the ranks and the single-process reference on byte-identical inputs.
    """
    from m3dreid.config import DataConfig
    from m3dreid.data import build_train_loader, create_dataset

    data = DataConfig(dataset="synthetic", root=str(root), height=64, width=32, seq_len=4)
    data = dataclasses.replace(data, ids_per_batch=4, tracklets_per_id=2, workers=0, hflip=0.0, random_erasing=0.0)
    loader = build_train_loader(create_dataset("synthetic", root), data, seed=0, num_batches=per_epoch)
    batches = []
    for epoch in range(epochs):
        loader.batch_sampler.set_epoch(epoch)
        batches.append([tuple(t) for t in loader])
    atomic_save({"batches": [[list(b) for b in epoch] for epoch in batches]}, out)
    return out


def rank_batches(epoch: int, *, batches: list, rank: int, world_size: int) -> list[tuple[torch.Tensor, ...]]:
    """This rank's disjoint share of each global batch: a contiguous slice, so the shares concatenate to it."""
    share = GLOBAL_BATCH // world_size
    return [tuple(t[rank * share : (rank + 1) * share] for t in batch) for batch in batches[epoch]]


def train_config(*, sync_bn: bool):
    train = {"epochs": 2, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "optimizer": "sgd", "loss": "softmax"}
    train |= {"lr_step": 1, "log_every": 1, "seed": 3, "device": "cpu", "amp": False, "sync_bn": sync_bn}
    return config_from_dict({"train": train})


def train(run_dir: Path, *, batches: Path, rank: int, world_size: int, sync_bn: bool) -> dict[str, torch.Tensor]:
    """Train ``make_model()`` with the Trainer; world_size 1 = the single-process reference on whole batches."""
    config = train_config(sync_bn=sync_bn)
    global_batches = load_file(batches)["batches"]
    trainer = Trainer(
        model=make_model(),
        config=config,
        run_dir=run_dir,
        epoch_loader=functools.partial(rank_batches, batches=global_batches, rank=rank, world_size=world_size),
        device="cpu",
        is_main=D.is_main(),
        wrap_model=functools.partial(D.wrap_model, device=torch.device("cpu"), sync_bn=config.train.sync_bn),
    )
    trainer.fit()
    return {k: v.detach().clone() for k, v in D.unwrap_model(trainer.model).state_dict().items()}


def worker(rank: int, world_size: int, port: int, out_dir: str, batches: str) -> None:
    """One DDP rank, started by torch.multiprocessing (spawn) with the environment torchrun would set."""
    torch.set_num_threads(1)
    os.environ.update(
        {
            "RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "LOCAL_RANK": str(rank),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    out = Path(out_dir)
    info = D.init_distributed(device="cpu")
    try:
        report = {"rank": info.rank, "world_size": info.world_size, "backend": info.backend, "is_main": D.is_main()}
        # variable-size gathers: rank r holds r + 2 rows of value r
        rows = torch.full((rank + 2, 3), float(rank))  # (N_r, 3)
        report["gathered"] = D.all_gather_rows(rows)[:, 0].tolist()
        # sharded evaluation: 5 items, each rank computes its interleaved share, gathered back in order
        idx = D.shard_indices(5)
        feats = torch.tensor(idx, dtype=torch.float32).view(-1, 1) * 10  # (n, 1)
        report["shard"] = idx
        report["sharded"] = D.gather_sharded(feats, idx, 5)[:, 0].tolist()
        report["mapped"] = D.map_sharded(lambda part: torch.tensor(part).view(-1, 1) * 2.0, [5, 6, 7])[:, 0].tolist()
        report["mean"] = float(D.all_reduce_mean(torch.tensor(float(rank))))
        D.barrier()
        for sync_bn in (True, False):
            run_dir = out / f"run_sync{int(sync_bn)}"
            state = train(run_dir, batches=Path(batches), rank=rank, world_size=world_size, sync_bn=sync_bn)
            atomic_save(state, out / f"rank{rank}_sync{int(sync_bn)}.pt")
        (out / f"rank{rank}.json").write_text(json.dumps(report))
    finally:
        D.cleanup_distributed()
