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

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from m3dreid.models.base import VideoReIDModel
from m3dreid.models.video_resnet import VideoResNet, load_2d_weights
from m3dreid.registry import MODELS

__all__ = [
    "VideoNet",
    "EmbeddingHead",
    "AvgPool",
    "BackboneArgs",
    "video_model",
    "register_variant",
    "build_video_net",
    "build_resnet_video_net",
]


@dataclass(frozen=True)
class BackboneArgs:
    """What every video model builder takes besides its own knobs: the ResNet backbone and the shared head.

    Builders are called with flat keywords (``create_model(name, depth=18, local_n=2)``, ``model.kwargs`` of a
    config); :func:`video_model` gathers these fields into one bundle and passes the rest to the builder's own
    keyword-only parameters, so no builder restates them.
    """

    num_classes: int = 0  # training identities (0: no classifier, for retrieval only)
    embed_dim: int = 128  # the retrieval feature's size (the paper's 128)
    depth: int = 50  # ResNet-18 / 34 / 50
    base_channels: int = 64  # the ResNet's width (64 = standard; narrower for CPU demos)
    last_stride: int = 1  # 1 keeps a 16x8 map for 256x128 frames (the paper)
    pretrained: str = ""  # local torchvision ImageNet ResNet weights ('' = random init)
    in_channels: int = 3  # channels of a frame (2 for the optical-flow stream)


BACKBONE_FIELDS = frozenset(f.name for f in dataclasses.fields(BackboneArgs))


def video_model(name: str, **defaults: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(args: BackboneArgs, **own_knobs)`` as model ``name``; ``defaults`` change the bundle's defaults.

    The registered builder takes flat keywords; the returned one too, with ``.build(args, **own)`` for callers that
    already hold a bundle.
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        def builder(**kwargs: Any) -> Any:
            shared = {k: kwargs.pop(k) for k in list(kwargs) if k in BACKBONE_FIELDS}
            return fn(BackboneArgs(**{**defaults, **shared}), **kwargs)

        builder.__name__ = builder.__qualname__ = name
        builder.__doc__ = fn.__doc__
        builder.build = fn  # type: ignore[attr-defined]
        return MODELS.register(name)(builder)

    return decorator


def register_variant(name: str, of: Callable[..., Any], **defaults: Any) -> Callable[..., Any]:
    """Register ``name`` as the builder ``of`` with other bundle defaults (e.g. ``depth=18`` for the CPU demo)."""
    fn = of.build  # type: ignore[attr-defined]

    def variant(args: BackboneArgs, **kwargs: Any) -> Any:
        return fn(args, **kwargs)

    variant.__doc__ = f"``{of.__name__}`` with {', '.join(f'{k}={v}' for k, v in defaults.items())} by default."
    return video_model(name, **defaults)(variant)


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
    args: BackboneArgs,
    *,
    pool: Callable[[int], nn.Module],
    temporal: Callable[[VideoResNet], object] | None = None,
) -> VideoNet:
    """The one recipe behind every ``*_resnet50`` builder, so that methods differ only in their temporal parts.

    ``temporal(backbone)`` puts the method's temporal parts into the fresh :class:`VideoResNet` (in place) before the
    2D weights load; ``pool(frame_dim)`` builds the sequence pool on the backbone's frame vectors.
    """
    backbone = VideoResNet(
        depth=args.depth, base_channels=args.base_channels, last_stride=args.last_stride, in_channels=args.in_channels
    )
    if temporal is not None:
        temporal(backbone)
    pool_module = pool(backbone.out_channels)
    return build_video_net(
        backbone, pool_module, embed_dim=args.embed_dim, num_classes=args.num_classes, pretrained=args.pretrained
    )
