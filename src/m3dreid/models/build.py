"""A model from a config, and a trained model from its checkpoint: the one place where names become modules.

One rule for a trained model: its architecture is the one recorded in the checkpoint's saved config (``model.name``,
``model.embed_dim``, ``model.kwargs``), its number of classes is the number of rows of its classifier, and every
weight comes from the checkpoint file (ImageNet files and the stream checkpoints a two-stream model was assembled
from need not exist where it is loaded). A config given beside the checkpoint may repeat the architecture, but a
value that contradicts the checkpoint is an error naming both, never a silently different model.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch
from torch import nn

from m3dreid.config import Config, ConfigError, config_from_dict
from m3dreid.registry import MODELS
from m3dreid.weights import CheckpointError, extract_state_dict, load_file, load_weights

__all__ = ["ASSEMBLY_KEYS", "build_model", "load_trained", "architecture_conflicts"]

log = logging.getLogger(__name__)

# model.kwargs that name the checkpoints a two-stream model is assembled from, and the stream each fills; once
# assembled, the model's own file holds those weights, so a loaded model never reads them again.
ASSEMBLY_KEYS = {"spatial_checkpoint": "spatial", "temporal_checkpoint": "temporal"}


def _builder_kwargs(config: Config, num_classes: int) -> dict[str, Any]:
    # the ModelConfig fields every builder takes (the BackboneArgs bundle), then the builder's own model.kwargs
    shared: dict[str, Any] = {"num_classes": num_classes, "embed_dim": config.model.embed_dim}
    if config.model.pretrained:
        shared["pretrained"] = config.model.pretrained
    return {**shared, **config.model.kwargs}


def build_model(config: Config, *, num_classes: int) -> nn.Module:
    """The registered model ``model.name`` with ``num_classes`` training identities and ``model.kwargs``."""
    import inspect

    if config.model.name not in MODELS:
        raise ConfigError(f"model.name: unknown model '{config.model.name}' (see `m3dreid list-models`)")
    kwargs = _builder_kwargs(config, num_classes)
    try:  # arguments that do not fit the builder come from the config: a user error, not a traceback
        inspect.signature(MODELS.get(config.model.name)).bind(**kwargs)
    except TypeError as err:
        raise ConfigError(f"model.kwargs: model '{config.model.name}': {err}") from None
    return MODELS.build(config.model.name, **kwargs)


def _architecture(config: Config) -> dict[str, Any]:
    """The config values that decide the network's shape (what a checkpoint must be rebuilt with)."""
    arch = {"model.name": config.model.name, "model.embed_dim": config.model.embed_dim}
    skip = set(ASSEMBLY_KEYS) | {"pretrained"}
    arch.update({f"model.kwargs.{k}": v for k, v in config.model.kwargs.items() if k not in skip})
    return arch


def architecture_conflicts(saved: Config, given: Config, keys: Collection[str] | None = None) -> list[str]:
    """``key: checkpoint has A, the config says B`` for every architecture value both set and set differently.

    A kwarg the given config leaves out is taken from the checkpoint (that is the point of saving the config);
    ``keys``: compare only these dotted keys (those the user set, see :func:`m3dreid.config.explicit_keys`).
    """
    ours, theirs = _architecture(saved), _architecture(given)
    if keys is not None:
        theirs = {k: v for k, v in theirs.items() if k in keys}
    return [
        f"{key}: the checkpoint has {ours[key]!r}, the config says {theirs[key]!r}"
        for key in theirs
        if key in ours and ours[key] != theirs[key]
    ]


def _saved_config(obj: Any, path: Path) -> Config | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("config"), dict):
        return None
    try:
        return config_from_dict(obj["config"], source=f"{path}: config")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None


def load_trained(
    path: str | Path,
    *,
    config: Config | None = None,
    keys: Collection[str] | None = None,
    device: str | torch.device | None = "cpu",
) -> tuple[nn.Module, Config]:
    """``(model in eval mode on device, the checkpoint's config)`` of a trained checkpoint (``last.pt``/``model.pt``).

    ``config``: what the caller was given (a config file, ``--set``); its architecture values (only ``keys``, when
    given) must agree with the checkpoint's. A bare state dict (no saved config) is built from ``config``.
    """
    from m3dreid.utils.device import resolve_device

    path = Path(path)
    obj = load_file(path)
    saved = _saved_config(obj, path)
    if saved is None:
        if config is None:
            raise CheckpointError(f"{path}: no 'config' in the checkpoint (need a file written by `m3dreid train`)")
        saved = config
    elif config is not None:
        conflicts = architecture_conflicts(saved, config, keys)
        if conflicts:
            raise CheckpointError(f"{path}: the config contradicts the checkpoint: " + "; ".join(conflicts))
    kwargs = {k: v for k, v in saved.model.kwargs.items() if k not in ASSEMBLY_KEYS}  # the file has their weights
    saved = dataclasses.replace(saved, model=dataclasses.replace(saved.model, pretrained="", kwargs=kwargs))
    state = extract_state_dict(obj, path)
    classifier = state.get("classifier.weight")
    num_classes = int(classifier.shape[0]) if classifier is not None else 0
    model = build_model(saved, num_classes=num_classes)
    load_weights(model, state, what=f"model '{saved.model.name}'", where=path)
    log.debug("%s: %s with %d classes", path, saved.model.name, num_classes)
    return model.to(resolve_device(device)).eval(), saved
