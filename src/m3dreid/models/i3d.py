"""I3D baseline (paper Sec. IV-D, [20]): every 3x3 convolution of the ResNet inflated to 3x3x3.

Inflation follows I3D: a 2D kernel ``W`` becomes ``k_t`` temporal taps of ``W / k_t`` (``inflate="mean"``), so a clip
of identical frames ("boring video") gives the 2D network's output. To make that hold at the clip ends too, the
temporal padding is ``"replicate"`` (a frame past an end is the end frame), a local rule that keeps chunked
extraction exact. ``inflate="center"`` puts ``W`` on the centre tap instead (equal to the 2D net on any clip).

The 1x1 convolutions and the 7x7 stem stay 2D: with every 3x3 inflated, ResNet-50 with the 128-d head and a
625-way classifier has 46.5M parameters, 186 MB in fp32, the paper's Table IV figure for I3D. ``temporal_radius`` is
one frame per inflated convolution (16 for ResNet-50, 16 for ResNet-18, whose blocks have two 3x3 convs each).

Fast form: the kernel is stored as ``(k_t*C_out, C_in, kh, kw)``, taps stacked along the outputs (a 4D parameter, so
``model.to(memory_format=torch.channels_last)`` works), run as ONE Conv2d over the ``(B*T, C, H, W)`` frames and
summed over time by :func:`~m3dreid.layers.temporal_shift_sum`; no permute to ``(B, C, T, H, W)``.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from m3dreid.layers import temporal_shift_sum
from m3dreid.models.video_net import AvgPool, BackboneArgs, VideoNet, build_resnet_video_net, video_model
from m3dreid.models.video_resnet import VideoBasicBlock, VideoResNet

__all__ = ["InflatedConv", "inflate_backbone", "i3d_resnet50"]


class InflatedConv(nn.Module):
    """A ``k_t x kh x kw`` convolution over the frames of clips, built from a 2D ``nn.Conv2d`` (no bias)."""

    takes_frames = True

    def __init__(self, conv: nn.Conv2d, *, time: int = 3, inflate: str = "mean", padding: str = "replicate"):
        super().__init__()
        if time < 1 or time % 2 == 0:
            raise ValueError(f"InflatedConv: temporal kernel must be odd and >= 1, got {time}")
        if inflate not in ("mean", "center"):
            raise ValueError(f"InflatedConv: inflate must be 'mean' or 'center', got {inflate!r}")
        if conv.bias is not None or conv.groups != 1 or conv.dilation != (1, 1):
            raise ValueError("InflatedConv: only plain convolutions without bias are inflated")
        self.time, self.inflate, self.padding = time, inflate, padding
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.stride, self.spatial_padding = conv.stride, conv.padding
        self.reach = time // 2
        self.offsets = tuple(range(-self.reach, self.reach + 1))
        self.weight = nn.Parameter(self.inflate_2d_weight(conv.weight.detach()))  # (k_t*C_out, C_in, kh, kw)

    def inflate_2d_weight(self, w2d: torch.Tensor) -> torch.Tensor:
        """``(C_out, C_in, kh, kw) -> (k_t*C_out, C_in, kh, kw)``, tap-major (tap j reads frame t + j - k_t//2)."""
        if self.inflate == "mean":
            taps = [w2d / self.time] * self.time
        else:
            taps = [w2d if j == self.reach else torch.zeros_like(w2d) for j in range(self.time)]
        return torch.cat(taps, dim=0).clone()

    def kernel_3d(self) -> torch.Tensor:
        """The same weight as a Conv3d kernel ``(C_out, C_in, k_t, kh, kw)`` (for reference and export)."""
        w = self.weight.view(self.time, self.out_channels, self.in_channels, *self.weight.shape[2:])
        return w.permute(1, 2, 0, 3, 4)  # (C_out, C_in, k_t, kh, kw)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:  # (B*T, C_in, H, W) -> (B*T, C_out, H', W')
        y = F.conv2d(x, self.weight.to(x.dtype), stride=self.stride, padding=self.spatial_padding)
        return temporal_shift_sum(y, frames, self.offsets, padding=self.padding)  # (B*T, C_out, H', W')

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel=({self.time}, {self.weight.shape[2]}, "
            f"{self.weight.shape[3]}), stride={self.stride}, inflate={self.inflate}, padding={self.padding}"
        )


def inflate_backbone(backbone: VideoResNet, *, time: int = 3, inflate: str = "mean", padding: str = "replicate"):
    """Swap every 3x3 convolution of every block for an :class:`InflatedConv`."""
    for _, block in backbone.blocks():
        names = ("conv1", "conv2") if isinstance(block, VideoBasicBlock) else ("conv2",)
        for name in names:
            setattr(block, name, InflatedConv(getattr(block, name), time=time, inflate=inflate, padding=padding))
    return backbone


@video_model("i3d_resnet50")
def i3d_resnet50(args: BackboneArgs, *, inflate: str = "mean", temporal_padding: str = "replicate") -> VideoNet:
    """I3D ResNet (3x3 -> 3x3x3 everywhere) with temporal average pooling; ``pretrained`` 2D weights are inflated."""
    return build_resnet_video_net(
        args, pool=AvgPool, temporal=partial(inflate_backbone, inflate=inflate, padding=temporal_padding)
    )
