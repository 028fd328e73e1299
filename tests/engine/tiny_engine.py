"""Helpers, not tests: a tiny video model and a tiny in-memory dataset for the engine tests (seconds on a CPU)."""

from __future__ import annotations

import torch
from torch import nn

from m3dreid.config import config_from_dict
from m3dreid.engine.seeding import epoch_seed
from m3dreid.models.base import VideoReIDModel


class TinyVideoNet(VideoReIDModel):
    """Conv + BatchNorm per frame, temporal average, embedding, classifier: enough state to test resumption."""

    def __init__(self, *, num_classes: int, dim: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, dim, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(dim)
        self.embed = nn.Linear(dim, dim)
        self.feature_dim = dim
        self.head = nn.Linear(dim, num_classes) if num_classes > 0 else None

    def frame_features(self, clip: torch.Tensor) -> torch.Tensor:
        b, t = clip.shape[:2]
        x = torch.relu(self.bn(self.conv(clip.flatten(0, 1))))  # (B*T, d, H, W)
        return x.mean((2, 3)).view(b, t, -1)  # (B, T, d)

    def aggregate(self, frame_feats: torch.Tensor) -> torch.Tensor:
        return self.embed(frame_feats.mean(1))  # (B, D)

    def forward(self, clip: torch.Tensor):
        # Own forward with a 'head' attribute: the base class's class-level ``classifier = None`` would shadow a
        # submodule registered under that name.
        features = self.aggregate(self.frame_features(clip))  # (B, D)
        return (features, self.head(features)) if self.training and self.head is not None else features


class TinyClips:
    """``num_ids`` identities x 2 tracklets of 4 frames of 16x8; the batches of an epoch depend on seed + epoch only,
    and a random flip draws from the global torch RNG (so that restoring RNG states matters)."""

    def __init__(self, *, num_ids: int = 6, seed: int = 0, batch: int = 4, fail_at: tuple[int, int] | None = None):
        gen = torch.Generator().manual_seed(1234)
        self.pids = torch.arange(num_ids).repeat_interleave(2)  # (N,)
        colours = torch.randn(num_ids, 1, 3, 1, 1, generator=gen)  # one colour per identity
        noise = torch.randn(len(self.pids), 4, 3, 16, 8, generator=gen)  # (N, T, C, H, W)
        self.clips = colours[self.pids] + 0.5 * noise
        self.seed = seed
        self.batch = batch
        self.fail_at = fail_at  # (epoch, batch index) at which to raise KeyboardInterrupt, as Ctrl-C would

    def __call__(self, epoch: int):
        order = torch.randperm(len(self.pids), generator=torch.Generator().manual_seed(epoch_seed(self.seed, epoch)))
        batches = []
        for start in range(0, len(order), self.batch):
            idx = order[start : start + self.batch]
            clips = self.clips[idx].clone()
            flip = torch.rand(len(idx)) < 0.5
            clips[flip] = clips[flip].flip(-1)
            batches.append((clips, self.pids[idx], torch.zeros(len(idx), dtype=torch.long)))
        return _Batches(batches, epoch, self.fail_at)


class _Batches:
    def __init__(self, batches, epoch, fail_at):
        self.batches, self.epoch, self.fail_at = batches, epoch, fail_at

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for i, batch in enumerate(self.batches):
            if self.fail_at == (self.epoch, i):
                raise KeyboardInterrupt
            yield batch


def tiny_config(**train):
    values = {"epochs": 3, "lr": 0.05, "lr_step": 2, "log_every": 2, "seed": 7, "device": "cpu"}
    values.update(train)
    return config_from_dict({"train": values, "output_dir": "unused"})


def make_model(num_classes: int = 6) -> TinyVideoNet:
    torch.manual_seed(0)
    return TinyVideoNet(num_classes=num_classes)
