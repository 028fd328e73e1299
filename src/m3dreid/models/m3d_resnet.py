"""The 2D baseline / spatial stream and the M3D family (paper Sec. III, Tables I-IV).

Registered models (all keyword-only; common arguments: ``num_classes`` (0 = no classifier), ``embed_dim=128``,
``depth`` (18/34/50), ``base_channels`` (64 = standard width), ``last_stride=1``, ``pretrained=''``):

- ``resnet50_2d``: 2D ResNet + temporal average pooling (the spatial stream; Table III "ResNet50").
- ``local_m3d_resnet50``: local M3D layers + average pooling (Table I ablation over ``local_n``).
- ``global_m3d_resnet50``: 2D ResNet + global M3D head (Table II ablation over ``global_n``).
- ``m3d_resnet50``: local + global M3D (Fig. 4, the temporal stream).
- ``all_local_m3d_resnet50``: a local M3D layer at every block, plus the global head (Table IV "all-local M3D").
- ``resnet18_2d``, ``m3d_resnet18``: the same builders with ``depth=18`` by default (CPU demo).

Where the local layers go. The paper inserts 4 local M3D layers (Fig. 4, not recoverable from the text). The default
here puts them on ``S`` of the last four blocks before stage 4 (ResNet-50: stage 3, blocks 2-5; ResNet-18: stage 2
blocks 0-1 and stage 3 blocks 0-1): 16x8 maps at 256x128 with 256-wide bottlenecks. Its parameter cost (4 x 9 x 256^2
= 2.4M) fits the paper's "about 15 MB" overhead, which 512-wide stage-4 positions (2.4M each) would exceed.
``local_positions`` takes ``(stage, block)`` pairs (stages 1-4, blocks from 0) or ``"all"``.

Global head. Frame vectors (2048-d) are first embedded per frame to ``global_dim=256`` (Linear + BN + ReLU; the
paper's "embedding layers" before the global layer), then :class:`~m3dreid.layers.GlobalM3D` with ``global_n``
branches gives ``(n+1) * 256`` per frame, averaged over time, then the shared 128-d embedding head.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from m3dreid.layers import GlobalM3D, LocalM3D
from m3dreid.models.video_net import (
    AvgPool,
    BackboneArgs,
    VideoNet,
    build_resnet_video_net,
    register_variant,
    video_model,
)
from m3dreid.models.video_resnet import VideoResNet
from m3dreid.registry import MODELS

__all__ = [
    "GlobalM3DPool",
    "add_local_m3d",
    "default_local_positions",
    "resolve_positions",
    "resnet50_2d",
    "local_m3d_resnet50",
    "global_m3d_resnet50",
    "m3d_resnet50",
    "all_local_m3d_resnet50",
    "resnet18_2d",
    "m3d_resnet18",
]

M3D_TAPS = {"relu": "post_relu", "bn": "pre_relu"}


class GlobalM3DPool(nn.Module):
    """Frame embedding (``in_dim -> dim``, Linear + BN + ReLU) then global M3D and temporal average pooling."""

    def __init__(self, in_dim: int, *, dim: int = 256, n: int = 3, activation: str = "none") -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.bn = nn.BatchNorm1d(dim)
        self.relu = nn.ReLU(inplace=True)
        self.global_m3d = GlobalM3D(dim, n, activation=activation)
        self.out_dim = self.global_m3d.out_dim

    def forward(self, feats: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, (n+1)*dim)
        b, t, d = feats.shape
        x = self.relu(self.bn(self.embed(feats.reshape(b * t, d))))  # (B*T, dim)
        return self.global_m3d(x.view(b, t, -1))  # (B, (n+1)*dim)


def default_local_positions(backbone: VideoResNet, count: int = 4) -> tuple[tuple[int, int], ...]:
    """The last ``count`` blocks of stages 1-3 (see the module docstring)."""
    early = [pos for pos, _ in backbone.blocks() if pos[0] <= 3]
    return tuple(early[-count:])


def resolve_positions(backbone: VideoResNet, positions) -> tuple[tuple[int, int], ...]:
    """``None`` = the default four, ``"all"`` = every block, else a sequence of ``(stage, block)`` pairs."""
    if positions is None:
        return default_local_positions(backbone)
    if isinstance(positions, str):
        if positions != "all":
            raise ValueError(f"local_positions: expected 'all' or (stage, block) pairs, got {positions!r}")
        return tuple(pos for pos, _ in backbone.blocks())
    resolved = []
    for pos in positions:
        if not isinstance(pos, Sequence) or len(pos) != 2:
            raise ValueError(f"local_positions: each position is a (stage, block) pair, got {pos!r}")
        backbone.block_at(pos)  # raises with the valid ranges
        resolved.append((int(pos[0]), int(pos[1])))
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"local_positions: repeated position in {resolved}")
    return tuple(resolved)


def add_local_m3d(backbone: VideoResNet, *, n: int, positions=None, tap: str = "relu") -> VideoResNet:
    """Put a local M3D layer with ``n`` branches on ``S`` of each block at ``positions``.

    ``tap`` says where S's output is taken. ``"relu"`` (default): after S's BN and ReLU, i.e. S is a whole 2D layer
    (conv + BN + ReLU) and the block computes ``a + sum_i T_i(a)``; with n=1 this is exactly the P3D-C unit, as the
    paper states ("the local M3D layer equals to P3D-C layer"). ``"bn"``: after the BN, before the ReLU, so the sum
    ``s + sum_i T_i(s)`` is activated once more. Both are zero-initialised, so both equal the 2D net when fresh.
    """
    if tap not in M3D_TAPS:
        raise ValueError(f"m3d_tap must be one of {sorted(M3D_TAPS)}, got {tap!r}")
    if n == 0:
        return backbone
    for pos in resolve_positions(backbone, positions):
        block = backbone.block_at(pos)
        _, conv = block.spatial_conv()
        block.set_temporal(LocalM3D(conv.out_channels, n), M3D_TAPS[tap])
    return backbone


def _m3d(
    args: BackboneArgs,
    *,
    local_n: int = 0,
    global_n: int | None = None,
    local_positions=None,
    global_dim: int = 256,
    global_act: str = "none",
    m3d_tap: str = "relu",
) -> VideoNet:
    """``global_n=None`` means temporal average pooling (no global head); ``global_n=0`` keeps the head, no branches.

    The defaults are the 2D network: no local layers, average pooling.
    """
    if global_n is None:
        pool = AvgPool
    else:
        pool = partial(GlobalM3DPool, dim=global_dim, n=global_n, activation=global_act)
    temporal = partial(add_local_m3d, n=local_n, positions=local_positions, tap=m3d_tap)
    return build_resnet_video_net(args, pool=pool, temporal=temporal)


@video_model("resnet50_2d")
def resnet50_2d(args: BackboneArgs) -> VideoNet:
    """2D ResNet on every frame + temporal average pooling: the spatial stream and the 2D baseline."""
    return _m3d(args)


@video_model("local_m3d_resnet50")
def local_m3d_resnet50(
    args: BackboneArgs, *, local_n: int = 3, local_positions=None, m3d_tap: str = "relu"
) -> VideoNet:
    """Local M3D layers and temporal average pooling (no global layer): Tables I and III "Local M3D"."""
    return _m3d(args, local_n=local_n, local_positions=local_positions, m3d_tap=m3d_tap)


@video_model("global_m3d_resnet50")
def global_m3d_resnet50(
    args: BackboneArgs, *, global_n: int = 3, global_dim: int = 256, global_act: str = "none"
) -> VideoNet:
    """2D ResNet + global M3D head: Tables II and III "Global M3D"."""
    return _m3d(args, global_n=global_n, global_dim=global_dim, global_act=global_act)


@video_model("m3d_resnet50")
def m3d_resnet50(
    args: BackboneArgs,
    *,
    local_n: int = 3,
    global_n: int = 3,
    local_positions=None,
    global_dim: int = 256,
    global_act: str = "none",
    m3d_tap: str = "relu",
) -> VideoNet:
    """M3D CNN of Fig. 4: 4 local M3D layers (n=3) and one global M3D layer (n=3) on a last-stride-1 ResNet."""
    return _m3d(
        args,
        local_n=local_n,
        global_n=global_n,
        local_positions=local_positions,
        global_dim=global_dim,
        global_act=global_act,
        m3d_tap=m3d_tap,
    )


@MODELS.register("all_local_m3d_resnet50")
def all_local_m3d_resnet50(*, local_positions="all", **kwargs) -> VideoNet:
    """M3D with a local M3D layer on ``S`` of every block (16 in ResNet-50) and the global head (Table IV)."""
    return m3d_resnet50(local_positions=local_positions, **kwargs)


resnet18_2d = register_variant("resnet18_2d", resnet50_2d, depth=18)  # the CPU demo's streams
m3d_resnet18 = register_variant("m3d_resnet18", m3d_resnet50, depth=18)
