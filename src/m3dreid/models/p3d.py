"""P3D baselines (paper Sec. IV-D, [21]): a 3x1x1 temporal convolution ``T`` beside every spatial 3x3 ``S``.

The three ways of combining them (paper Fig. 3 c-e), placed at ``S`` of every block (16 in ResNet-50), each
initialised so that a fresh network equals its 2D network (and 2D ImageNet weights are a sound start):

- P3D-A (serial): ``relu(T(relu(bn(S(x)))))``, ``T`` initialised to the identity (centre tap = I).
- P3D-B (parallel): ``relu(bn(S(x)) + T(x))``, ``T`` on S's input with S's spatial stride, zero-initialised.
- P3D-C (serial + residual): ``a + T(a)`` with ``a = relu(bn(S(x)))``, zero-initialised; this is exactly a local
  M3D layer with n=1 (the paper: "the local M3D layer equals to P3D-C layer").

``T`` has no BN or bias of its own (as in the local M3D layer) and zero temporal padding; it reaches 1 frame, so the
ResNet-50 models have ``temporal_radius`` 16. Fast form as elsewhere: one 1x1 Conv2d with 3*C_out outputs and a
temporal shift-sum.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from m3dreid.layers import temporal_shift_sum
from m3dreid.models.video_net import AvgPool, BackboneArgs, VideoNet, build_resnet_video_net, video_model
from m3dreid.models.video_resnet import VideoResNet

__all__ = ["TemporalConv", "add_p3d", "p3d_a_resnet50", "p3d_b_resnet50", "p3d_c_resnet50"]

P3D_MODES = {"a": "serial", "b": "parallel", "c": "post_relu"}


class TemporalConv(nn.Module):
    """A 3x1x1 convolution over frames ``(B*T, C_in, H, W) -> (B*T, C_out, H/s, W/s)``, optionally ``x + T(x)``."""

    def __init__(self, in_ch: int, out_ch: int, *, stride: int = 1, init: str = "zero", residual: bool = False):
        super().__init__()
        if residual and (in_ch != out_ch or stride != 1):
            raise ValueError("TemporalConv: a residual needs equal channels and stride 1")
        self.in_ch, self.out_ch, self.stride, self.residual = in_ch, out_ch, stride, residual
        self.reach = 1
        self.weight = nn.Parameter(torch.zeros(out_ch, in_ch, 3))  # (C_out, C_in, taps t-1, t, t+1)
        if init == "identity":
            if in_ch != out_ch:
                raise ValueError("TemporalConv: identity init needs equal channels")
            with torch.no_grad():
                self.weight[:, :, 1].copy_(torch.eye(out_ch))
        elif init != "zero":
            raise ValueError(f"TemporalConv: init must be 'zero' or 'identity', got {init!r}")

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        w = self.weight.permute(2, 0, 1).reshape(3 * self.out_ch, self.in_ch, 1, 1)  # (3*C_out, C_in, 1, 1)
        y = F.conv2d(x, w.to(x.dtype), stride=self.stride)  # (B*T, 3*C_out, H', W')
        return temporal_shift_sum(y, frames, (-1, 0, 1), base=x if self.residual else None)

    def extra_repr(self) -> str:
        return f"{self.in_ch}, {self.out_ch}, kernel=(3, 1, 1), stride={self.stride}, residual={self.residual}"


def add_p3d(backbone: VideoResNet, kind: str) -> VideoResNet:
    """Give ``S`` of every block a P3D-``kind`` temporal convolution (``kind`` in a, b, c)."""
    if kind not in P3D_MODES:
        raise ValueError(f"P3D kind must be one of {sorted(P3D_MODES)}, got {kind!r}")
    for _, block in backbone.blocks():
        _, conv = block.spatial_conv()
        width = conv.out_channels
        if kind == "a":
            temporal = TemporalConv(width, width, init="identity")
        elif kind == "b":
            stride = conv.stride[0]
            temporal = TemporalConv(conv.in_channels, width, stride=stride)
        else:
            temporal = TemporalConv(width, width, residual=True)
        block.set_temporal(temporal, P3D_MODES[kind])
    return backbone


def _p3d_builder(kind: str, doc: str):
    """Register ``p3d_{kind}_resnet50``: the three P3D variants differ only in ``kind``, so one body serves them."""

    def builder(args: BackboneArgs) -> VideoNet:
        return build_resnet_video_net(args, pool=AvgPool, temporal=partial(add_p3d, kind=kind))

    builder.__doc__ = doc
    return video_model(f"p3d_{kind}_resnet50")(builder)


p3d_a_resnet50 = _p3d_builder("a", "P3D-A (serial S -> T) at every block, temporal average pooling.")
p3d_b_resnet50 = _p3d_builder("b", "P3D-B (parallel S + T) at every block, temporal average pooling.")
p3d_c_resnet50 = _p3d_builder("c", "P3D-C (S, then T with a residual) at every block, temporal average pooling.")
