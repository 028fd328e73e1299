"""2D + LSTM baseline (paper Sec. IV-D, [16]): an LSTM on the frame vectors, its outputs averaged over time.

The LSTM is one layer, unidirectional, ``lstm_hidden=512`` units (a knob); it is part of the sequence head
(``aggregate``), which always sees the whole tracklet, so the frame features stay 2D (``temporal_radius = 0``).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from m3dreid.models.video_net import BackboneArgs, VideoNet, build_resnet_video_net, video_model

__all__ = ["LSTMPool", "lstm_resnet50"]


class LSTMPool(nn.Module):
    """``(B, T, d) -> (B, hidden)``: LSTM over frames, mean of its outputs."""

    def __init__(self, in_dim: int, *, hidden: int = 512) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True)
        self.out_dim = hidden

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(feats)  # (B, T, hidden)
        return out.mean(dim=1)  # (B, hidden)


@video_model("lstm_resnet50")
def lstm_resnet50(args: BackboneArgs, *, lstm_hidden: int = 512) -> VideoNet:
    """2D ResNet + LSTM sequence head."""
    return build_resnet_video_net(args, pool=partial(LSTMPool, hidden=lstm_hidden))
