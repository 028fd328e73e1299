"""Rebuild the trained model of an m3dreid checkpoint (``{"model": state_dict, "config": resolved config}``).

The number of training identities is read off the classifier's weight, and ``model.pretrained`` is cleared: the
checkpoint already holds every weight, and the ImageNet file it was started from need not exist where it is deployed.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from torch import nn

from m3dreid.config import Config, ConfigError, config_from_dict
from m3dreid.engine.checkpoint import CheckpointError, extract_state_dict, load_file

__all__ = ["load_checkpoint_model"]

log = logging.getLogger(__name__)


def load_checkpoint_model(path: str | Path) -> tuple[nn.Module, Config]:
    """``(model in eval mode, its config)``; errors name the file and what is missing or wrong."""
    path = Path(path)
    obj = load_file(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("config"), dict):
        raise CheckpointError(f"{path}: no 'config' in the checkpoint (need a file written by `m3dreid train`)")
    try:
        config = config_from_dict(obj["config"], source=f"{path}: config")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    from m3dreid.engine.run import ASSEMBLY_KEYS

    # A two-stream model's config names the two stream checkpoints it was assembled from (often relative paths);
    # model.pt holds every weight, so they are not read again: the checkpoint loads from any folder.
    kwargs = {k: v for k, v in config.model.kwargs.items() if k not in ASSEMBLY_KEYS}
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, pretrained="", kwargs=kwargs))
    state = extract_state_dict(obj, path)
    classifier = state.get("classifier.weight")
    num_classes = int(classifier.shape[0]) if classifier is not None else 0
    from m3dreid.engine.run import build_model

    model = build_model(config, num_classes=num_classes)
    try:
        result = model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        last = str(err).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{path}: weights do not fit model '{config.model.name}': {last}") from None
    log.debug("%s: %s with %d classes (%s)", path, config.model.name, num_classes, result)
    return model.eval(), config
