"""A ResNet that runs clips frame by frame and lets any block carry a temporal part (M3D, P3D, I3D).

Frames travel as ``(B*T, C, H, W)`` through an ordinary 2D ResNet (same module names and state-dict keys as
:mod:`m3dreid.models.resnet`, so ImageNet weights load), and each block also receives ``T`` so that its temporal
part can mix frames of the same clip. Each block has one slot around its spatial 3x3 convolution ``S`` (Bottleneck:
``conv2``/``bn2``; BasicBlock: ``conv1``/``bn1``), wired by ``temporal_mode``:

- ``post_relu``: ``a = relu(bn(S(x))); a = temporal(a)`` (local M3D default and P3D-C: ``a + T(a)``)
- ``pre_relu``: ``s = bn(S(x)); relu(temporal(s))`` (local M3D with the branches before the ReLU)
- ``serial``: ``relu(temporal(relu(bn(S(x)))))`` (P3D-A: T after S)
- ``parallel``: ``relu(bn(S(x)) + temporal(x))`` (P3D-B: T beside S, on S's input)

and I3D swaps the 3x3 convolutions themselves for inflated ones (modules with ``takes_frames = True``). Every temporal
module exposes ``reach`` (frames each side); the backbone's ``temporal_radius`` is their sum, since blocks and the
temporal parts inside a block are in series.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from m3dreid.models.resnet import BasicBlock, Bottleneck, ResNet
from m3dreid.weights import load_weights, read_state_dict

__all__ = ["VideoResNet", "VideoBasicBlock", "VideoBottleneck", "load_2d_weights", "TEMPORAL_MODES"]

log = logging.getLogger(__name__)

TEMPORAL_MODES = ("none", "post_relu", "pre_relu", "serial", "parallel")
DEPTHS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)), 50: (Bottleneck, (3, 4, 6, 3))}


def _conv(conv: nn.Module, x: torch.Tensor, frames: int) -> torch.Tensor:
    return conv(x, frames) if getattr(conv, "takes_frames", False) else conv(x)


class _TemporalSlot:
    """Mixin: the temporal slot around a block's spatial convolution (see the module docstring)."""

    temporal: nn.Module | None
    temporal_mode: str

    def set_temporal(self, module: nn.Module | None, mode: str) -> None:
        if mode not in TEMPORAL_MODES:
            raise ValueError(f"temporal mode must be one of {TEMPORAL_MODES}, got {mode!r}")
        self.temporal = module
        self.temporal_mode = mode if module is not None else "none"

    def _spatial(self, x: torch.Tensor, frames: int, conv: nn.Module, bn: nn.Module) -> torch.Tensor:
        mode = self.temporal_mode
        s = bn(_conv(conv, x, frames))  # (B*T, C, H, W)
        if mode == "parallel":
            s = s + self.temporal(x, frames)
        elif mode == "pre_relu":
            s = self.temporal(s, frames)
        s = self.relu(s)
        if mode == "post_relu":
            s = self.temporal(s, frames)
        elif mode == "serial":
            s = self.relu(self.temporal(s, frames))
        return s


class VideoBottleneck(_TemporalSlot, Bottleneck):
    """ResNet-50 bottleneck whose 3x3 ``conv2`` is ``S``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.temporal, self.temporal_mode = None, "none"

    def spatial_conv(self) -> tuple[str, nn.Module]:
        return "conv2", self.conv2

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:  # (B*T, C, H, W)
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self._spatial(out, frames, self.conv2, self.bn2)
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class VideoBasicBlock(_TemporalSlot, BasicBlock):
    """ResNet-18/34 block whose first 3x3 ``conv1`` is ``S`` (it is followed by a ReLU, like a bottleneck's conv2)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.temporal, self.temporal_mode = None, "none"

    def spatial_conv(self) -> tuple[str, nn.Module]:
        return "conv1", self.conv1

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:  # (B*T, C, H, W)
        identity = x if self.downsample is None else self.downsample(x)
        out = self._spatial(x, frames, self.conv1, self.bn1)
        out = self.bn2(_conv(self.conv2, out, frames))
        return self.relu(out + identity)


class VideoResNet(ResNet):
    """ResNet-18/34/50 backbone (no ``fc``) for frames of clips: :meth:`frame_maps` is ``(B*T, C, H, W) -> maps``."""

    def __init__(self, *, depth: int = 50, base_channels: int = 64, last_stride: int = 1, in_channels: int = 3):
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth}")
        block, layers = DEPTHS[depth]
        video_block = VideoBottleneck if block is Bottleneck else VideoBasicBlock
        super().__init__(
            block=video_block,
            layers=layers,
            num_classes=0,
            last_stride=last_stride,
            base_channels=base_channels,
            in_channels=in_channels,
        )
        self.depth = depth

    def stages(self) -> tuple[nn.Sequential, ...]:
        return (self.layer1, self.layer2, self.layer3, self.layer4)

    def blocks(self) -> Iterator[tuple[tuple[int, int], nn.Module]]:
        """``((stage, index), block)`` for every block; stages count from 1 (``layer1``), blocks from 0."""
        for stage, layer in enumerate(self.stages(), start=1):
            for index, block in enumerate(layer):
                yield (stage, index), block

    def block_at(self, position: Sequence[int]) -> nn.Module:
        stage, index = (int(v) for v in position)
        sizes = [len(layer) for layer in self.stages()]
        if not 1 <= stage <= 4 or not 0 <= index < sizes[stage - 1]:
            raise ValueError(
                f"no block at (stage={stage}, block={index}) in ResNet-{self.depth}: stages 1..4 have {sizes} blocks"
            )
        return self.stages()[stage - 1][index]

    @property
    def temporal_radius(self) -> int:
        return sum(int(getattr(m, "reach", 0)) for m in self.modules() if m is not self)

    def frame_maps(self, x: torch.Tensor, frames: int) -> torch.Tensor:  # (B*T, C_in, H, W) -> (B*T, C, h, w)
        x = self.stem(x)
        for layer in self.stages():
            for block in layer:
                x = block(x, frames)
        return x


def _is_temporal_key(key: str) -> bool:
    return ".temporal." in key or key.startswith("temporal.")


def load_2d_weights(backbone: VideoResNet, path: str | Path) -> VideoResNet:
    """Load 2D (torchvision-style) ResNet weights into a video backbone; the file's ``fc.*`` keys are skipped.

    Keys of temporal parts (``*.temporal.*``) are not in a 2D file and keep their initialisation (zero for M3D and
    P3D-B/C, identity for P3D-A). Inflated convolutions (I3D) build their weight from the 2D one with their own
    ``inflate_2d_weight``. A ``conv1`` with other than 3 input channels (the optical-flow stream) gets the RGB
    kernels averaged over colour and repeated, the usual cross-modality initialisation. Anything else missing,
    unexpected or mis-shaped is one error that names the file.
    """
    state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("fc.")}
    own = backbone.state_dict()
    for key, src in list(state.items()):  # 2D -> video: inflate what has another shape (the fit check sees the rest)
        if key not in own or src.shape == own[key].shape:
            continue
        module = backbone.get_submodule(key.rsplit(".", 1)[0]) if "." in key else backbone
        if hasattr(module, "inflate_2d_weight"):
            state[key] = module.inflate_2d_weight(src)
        elif key == "conv1.weight" and src.dim() == 4 and src.shape[0] == own[key].shape[0]:
            state[key] = src.mean(dim=1, keepdim=True).expand_as(own[key]).clone()  # (C0, C_in, 7, 7)
    fit = load_weights(backbone, state, allow_missing=_is_temporal_key, what="the 2D part of the backbone", where=path)
    log.info("loaded %d 2D tensors from %s", len(fit.loaded), path)
    return backbone
