"""ResNet-18/34/50 written here, with torchvision-compatible state-dict keys.

torchvision does not import beside the CPU torch used by m3dreid, so the backbone is ours. Keys and shapes equal
torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1`` ... ``fc``), so ImageNet weights saved by torchvision load with
:func:`load_pretrained`. ``last_stride=1`` (the paper's setting) keeps a 16x8 final map for 256x128 frames.
``base_channels`` narrows the whole network (64 = the standard width) for CPU-scale demos; ``in_channels`` (3 = RGB)
lets the optical-flow stream of the A&O baseline take 2-channel flow frames.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from m3dreid.weights import load_weights

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "load_pretrained"]

log = logging.getLogger(__name__)


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_ch, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 with a residual connection (ResNet-50); the stride sits on the 3x3 as in torchvision."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(in_ch, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Image ResNet: ``features`` gives the last feature map, ``forward`` the ``fc`` logits (or pooled features)."""

    def __init__(
        self,
        *,
        block: type[BasicBlock] | type[Bottleneck],
        layers: tuple[int, int, int, int],
        num_classes: int = 1000,
        last_stride: int = 2,
        base_channels: int = 64,
        zero_init_residual: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if last_stride not in (1, 2):
            raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
        self.in_ch = base_channels
        self.conv1 = nn.Conv2d(in_channels, base_channels, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        widths = [base_channels * 2**i for i in range(4)]
        strides = [1, 2, 2, last_stride]
        self.layer1 = self._make_layer(block, widths[0], layers[0], strides[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], strides[1])
        self.layer3 = self._make_layer(block, widths[2], layers[2], strides[2])
        self.layer4 = self._make_layer(block, widths[3], layers[3], strides[3])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.out_channels = widths[3] * block.expansion
        self.fc = nn.Linear(self.out_channels, num_classes) if num_classes > 0 else None
        self._init_weights(zero_init_residual)

    def _make_layer(self, block: Callable[..., nn.Module], width: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.in_ch != width * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.in_ch, width * block.expansion, stride), nn.BatchNorm2d(width * block.expansion)
            )
        layers = [block(self.in_ch, width, stride, downsample)]
        self.in_ch = width * block.expansion
        layers += [block(self.in_ch, width) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                last_bn = module.bn3 if isinstance(module, Bottleneck) else getattr(module, "bn2", None)
                if isinstance(module, BasicBlock | Bottleneck) and last_bn is not None:
                    nn.init.zeros_(last_bn.weight)

    def stem(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> (N, C0, H/4, W/4)
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def features(self, x: torch.Tensor) -> torch.Tensor:  # (N, 3, H, W) -> (N, C, H/16 or H/32, ...)
        x = self.stem(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.flatten(self.avgpool(self.features(x)), 1)  # (N, C)
        return pooled if self.fc is None else self.fc(pooled)  # (N, num_classes)


def resnet18(**kwargs) -> ResNet:
    return ResNet(block=BasicBlock, layers=(2, 2, 2, 2), **kwargs)


def resnet34(**kwargs) -> ResNet:
    return ResNet(block=BasicBlock, layers=(3, 4, 6, 3), **kwargs)


def resnet50(**kwargs) -> ResNet:
    return ResNet(block=Bottleneck, layers=(3, 4, 6, 3), **kwargs)


def load_pretrained(model: nn.Module, path: str | Path, *, skip_classifier: bool = True) -> nn.Module:
    """Load torchvision-style weights from a local file into ``model``, strictly.

    Every key of the model must be in the file and every key of the file must be in the model, with equal shapes;
    otherwise one error lists all that is missing, unexpected or mis-shaped. With ``skip_classifier`` the ``fc.*``
    keys of the file are dropped on purpose (ReID models train their own classifier) and the model's own ``fc``
    (if any) keeps its initialisation.
    """
    fit = load_weights(model, path, drop_prefixes=("fc.",) if skip_classifier else ())
    log.info("loaded %d tensors from %s", len(fit.loaded), path)
    return model
