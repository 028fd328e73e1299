"""Temporal attention pooling baseline (SAL-style quality weights, the conference version of M3D).

Each frame vector gets a quality score ``q_t = sigmoid(MLP(f_t))`` (MLP: ``d -> attention_hidden -> 1``); the
sequence feature is ``sum_t q_t f_t / sum_t q_t``. Frames blurred, occluded or badly cropped can thus weigh less than
in plain averaging. The MLP's last layer starts at zero, so a fresh model pools exactly like temporal averaging.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from m3dreid.models.video_net import BackboneArgs, VideoNet, build_resnet_video_net, video_model

__all__ = ["AttentionPool", "attention_resnet50"]


class AttentionPool(nn.Module):
    """``(B, T, d) -> (B, d)``: quality-weighted average of the frame vectors."""

    def __init__(self, in_dim: int, *, hidden: int = 256) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))
        nn.init.zeros_(self.score[2].weight)
        nn.init.zeros_(self.score[2].bias)
        self.out_dim = in_dim

    def weights(self, feats: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, T), rows sum to 1
        q = torch.sigmoid(self.score(feats)).squeeze(-1)  # (B, T)
        return q / q.sum(dim=1, keepdim=True)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bt,btd->bd", self.weights(feats), feats)  # (B, d)


@video_model("attention_resnet50")
def attention_resnet50(args: BackboneArgs, *, attention_hidden: int = 256) -> VideoNet:
    """2D ResNet + temporal attention (quality-weighted) pooling."""
    return build_resnet_video_net(args, pool=partial(AttentionPool, hidden=attention_hidden))
