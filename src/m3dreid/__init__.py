"""m3dreid: video person re-identification with multi-scale temporal cues (M3D) and its baselines.

``m3dreid.load(path_or_name)`` gives an :class:`~m3dreid.api.Embedder` (features of your own crops); the names below
are imported on first use, so ``import m3dreid`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load": "m3dreid.api",
    "from_pretrained": "m3dreid.api",
    "Embedder": "m3dreid.api",
    "register_pretrained": "m3dreid.api",
    "create_model": "m3dreid.models",
    "list_models": "m3dreid.models",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'm3dreid' has no attribute {name!r}")
