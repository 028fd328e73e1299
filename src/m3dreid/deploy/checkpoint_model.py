"""Rebuild the trained model of an m3dreid checkpoint (``{"model": state_dict, "config": resolved config}``).

The architecture comes from the checkpoint's saved config and every weight from the file (see
:func:`m3dreid.models.build.load_trained`): the ImageNet file a run was started from need not exist where it is
deployed.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from m3dreid.config import Config

__all__ = ["load_checkpoint_model"]


def load_checkpoint_model(path: str | Path) -> tuple[nn.Module, Config]:
    """``(model in eval mode on the CPU, its config)``; errors name the file and what is missing or wrong."""
    from m3dreid.models.build import load_trained

    return load_trained(path, device="cpu")
