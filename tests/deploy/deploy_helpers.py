"""Tiny trained-looking checkpoints for the deployment tests (depth 18, 16 base channels, 64x32 frames)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

from m3dreid.config import Config, DataConfig, EvalConfig, ModelConfig, config_to_dict
from m3dreid.registry import MODELS
from m3dreid.weights import atomic_save

HEIGHT, WIDTH = 64, 32
MODULES = {"resnet50_2d": "m3d_resnet", "m3d_resnet50": "m3d_resnet", "two_stream_m3d_resnet50": "two_stream"}


def require_model(name: str) -> None:
    """Skip (naming what is missing) until the model's module has landed and registered ``name``."""
    try:
        importlib.import_module("m3dreid.models")
        importlib.import_module(f"m3dreid.models.{MODULES[name]}")
    except ModuleNotFoundError as err:
        pytest.skip(f"{name}: module {err.name} not available yet")
    if name not in MODELS:
        pytest.skip(f"{name}: not registered yet")


def tiny_config(name: str, **data) -> Config:
    return Config(
        model=ModelConfig(name=name, embed_dim=32, kwargs={"depth": 18, "base_channels": 16}),
        data=DataConfig(height=HEIGHT, width=WIDTH, **data),
        eval=EvalConfig(chunk_size=16),
    )


def save_checkpoint(name: str, path: Path, *, num_classes: int = 4, seed: int = 0) -> tuple[torch.nn.Module, Path]:
    """Build ``name`` through the config builder, randomise its BN statistics and M3D weights, save it."""
    from m3dreid.models.build import build_model

    require_model(name)
    torch.manual_seed(seed)
    config = tiny_config(name, with_flow=name.startswith("two_stream"))
    model = build_model(config, num_classes=num_classes)
    with torch.no_grad():  # a fresh M3D layer is zero (= the 2D net): give the temporal paths small random weights
        for name, param in model.named_parameters():
            if "temporal" in name or "global" in name:
                param.copy_(torch.randn_like(param) * 0.05)
    model.eval()
    atomic_save({"model": model.state_dict(), "config": config_to_dict(config)}, path)
    return model, path
