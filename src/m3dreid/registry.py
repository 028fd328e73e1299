"""One registry class for named builders (models, datasets).

Each table is a plain dict from name to builder function. Registering a name twice is an error, and looking up an
unknown name is an error that lists the known names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["Registry", "MODELS", "DATASETS", "create_model", "list_models"]


class Registry:
    """A named table of builder functions, filled with the ``@register(name)`` decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._builders: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._builders:
                raise KeyError(f"{self.kind} '{name}' is registered twice")
            self._builders[name] = builder
            return builder

        return decorator

    def get(self, name: str) -> Callable[..., Any]:
        if name not in self._builders:
            known = ", ".join(self.names()) or "(none)"
            raise KeyError(f"unknown {self.kind} '{name}'; known {self.kind}s: {known}")
        return self._builders[name]

    def build(self, name: str, **kwargs: Any) -> Any:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._builders)

    def __contains__(self, name: str) -> bool:
        return name in self._builders


MODELS = Registry("model")
DATASETS = Registry("dataset")


def _load_model_modules() -> None:
    # The model modules register themselves on import; importing the package pulls all of them in.
    importlib.import_module("m3dreid.models")


def create_model(name: str, **kwargs: Any):
    """Build the registered model ``name`` with builder keyword arguments ``kwargs``."""
    _load_model_modules()
    return MODELS.build(name, **kwargs)


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    _load_model_modules()
    return MODELS.names()
