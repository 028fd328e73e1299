"""Optimizer and learning-rate schedule builders: SGD (the paper) or Adam, and a step schedule per epoch."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["build_optimizer", "build_scheduler"]


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    # Weight decay on BatchNorm scales and biases only shrinks them toward zero for no gain; leave them out.
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.dim() <= 1 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(
    *, model: nn.Module, name: str, lr: float, momentum: float = 0.9, weight_decay: float = 5e-4
) -> torch.optim.Optimizer:
    groups = _param_groups(model, weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    raise ValueError(f"unknown optimizer '{name}'; known: sgd, adam")


def build_scheduler(
    *, optimizer: torch.optim.Optimizer, step: int, gamma: float = 0.1
) -> torch.optim.lr_scheduler.LRScheduler:
    """Divide the lr by ``1/gamma`` every ``step`` epochs (stepped once an epoch); ``step <= 0`` keeps it constant."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step if step > 0 else 10**9, gamma=gamma)
