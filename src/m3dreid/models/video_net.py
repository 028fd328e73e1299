"""One video ReID model shape for every method: backbone -> frame vectors -> sequence pool -> embedding -> classifier.

Methods differ only in the backbone's temporal parts (M3D, P3D, I3D) and in the sequence pool (average, global M3D,
LSTM, attention), so all are trained and compared under one recipe and one head:

- ``frame_features``: the backbone's last map averaged over space, ``(B, T, d)`` (d = 2048 for ResNet-50).
- ``aggregate``: pool ``(B, T, d) -> (B, p)``, then :class:`EmbeddingHead`: ``Linear(p, embed_dim)`` (no bias) and a
  ``BatchNorm1d`` (a "BN-neck"). Its output is the retrieval feature (``feature_dim = embed_dim``, 128 as in the
  paper) and also what the softmax classifier (``Linear(embed_dim, num_classes)``, no bias) sees, so the feature the
  paper trains with softmax is the one that is retrieved. In eval mode the BN is a fixed affine map.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from m3dreid.models.base import VideoReIDModel
from m3dreid.models.video_resnet import VideoResNet, load_2d_weights

__all__ = ["VideoNet", "EmbeddingHead", "AvgPool", "build_video_net", "build_resnet_video_net"]


class AvgPool(nn.Module):
    """Temporal average pooling (paper Eq. 2): ``(B, T, d) -> (B, d)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out_dim = dim

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return feats.mean(dim=1)  # (B, d)


class EmbeddingHead(nn.Module):
    """``Linear(in_dim, embed_dim)`` + ``BatchNorm1d``; ``embed_dim=0`` keeps ``in_dim`` (BN only)."""

    def __init__(self, in_dim: int, embed_dim: int = 128) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, embed_dim, bias=False) if embed_dim > 0 else nn.Identity()
        self.out_dim = embed_dim if embed_dim > 0 else in_dim
        self.bn = nn.BatchNorm1d(self.out_dim)
        if embed_dim > 0:
            nn.init.kaiming_normal_(self.embed.weight, mode="fan_out")

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:  # (B, p) -> (B, D)
        return self.bn(self.embed(pooled))


class VideoNet(VideoReIDModel):
    """A backbone, a sequence pool and the shared head (see the module docstring)."""

    def __init__(self, *, backbone: VideoResNet, pool: nn.Module, embed_dim: int = 128, num_classes: int = 0):
        super().__init__()
        self.backbone = backbone
        self.pool = pool
        self.head = EmbeddingHead(pool.out_dim, embed_dim)
        self.feature_dim = self.head.out_dim
        self.frame_dim = backbone.out_channels
        self.in_channels = backbone.conv1.in_channels
        self.temporal_radius = backbone.temporal_radius
        self.classifier = nn.Linear(self.feature_dim, num_classes, bias=False) if num_classes > 0 else None
        if self.classifier is not None:
            nn.init.normal_(self.classifier.weight, std=0.001)

    def frame_features(self, clip: torch.Tensor) -> torch.Tensor:  # (B, T, C, H, W) -> (B, T, d)
        if clip.dim() != 5 or clip.shape[2] != self.in_channels:
            raise ValueError(f"expected a clip (B, T, {self.in_channels}, H, W), got shape {tuple(clip.shape)}")
        b, t = clip.shape[:2]
        x = clip.reshape(b * t, *clip.shape[2:])  # (B*T, C, H, W)
        maps = self.backbone.frame_maps(x, t)  # (B*T, d, h, w)
        return maps.mean(dim=(2, 3)).view(b, t, -1)  # (B, T, d)

    def aggregate(self, frame_feats: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, D)
        return self.head(self.pool(frame_feats))


def build_video_net(
    backbone: VideoResNet,
    pool: nn.Module,
    *,
    embed_dim: int,
    num_classes: int,
    pretrained: str | Path = "",
) -> VideoNet:
    """Load 2D ImageNet weights into the finished backbone (temporal parts keep their init), then add the head."""
    if pretrained:
        load_2d_weights(backbone, pretrained)
    model = VideoNet(backbone=backbone, pool=pool, embed_dim=embed_dim, num_classes=num_classes)
    model.temporal_radius = backbone.temporal_radius  # temporal parts are in place by now
    return model


def build_resnet_video_net(
    *,
    pool: Callable[[int], nn.Module],
    temporal: Callable[[VideoResNet], object] | None = None,
    num_classes: int,
    embed_dim: int,
    depth: int,
    base_channels: int,
    last_stride: int,
    pretrained: str | Path,
    in_channels: int = 3,
) -> VideoNet:
    """The one recipe behind every ``*_resnet50`` builder, so that methods differ only in their temporal parts.

    ``temporal(backbone)`` puts the method's temporal parts into the fresh :class:`VideoResNet` (in place) before the
    2D weights load; ``pool(frame_dim)`` builds the sequence pool on the backbone's frame vectors.
    """
    backbone = VideoResNet(depth=depth, base_channels=base_channels, last_stride=last_stride, in_channels=in_channels)
    if temporal is not None:
        temporal(backbone)
    return build_video_net(
        backbone, pool(backbone.out_channels), embed_dim=embed_dim, num_classes=num_classes, pretrained=pretrained
    )
