"""One registry class for named builders (models, datasets), and the two tables.

Each table maps a name to a builder function and a few facts about it (``info``: a dataset's display title, the
config fields its reader takes, its protocols and splits). Registering a name twice is an error, and looking up an
unknown name is an error that lists the known names. This module imports nothing of the package: the model and
dataset modules import it to register themselves (``m3dreid.models`` and ``m3dreid.data`` load them all), and every
list a user sees (CLI choices, experiment tables, ``list-models``) is read from these tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Registry", "MODELS", "DATASETS"]


class Registry:
    """A named table of builder functions, filled with the ``@register(name, **info)`` decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._builders: dict[str, Callable[..., Any]] = {}
        self._info: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **info: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._builders:
                raise KeyError(f"{self.kind} '{name}' is registered twice")
            self._builders[name] = builder
            self._info[name] = dict(info)
            return builder

        return decorator

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests that register a toy entry)."""
        self._builders.pop(name, None)
        self._info.pop(name, None)

    def get(self, name: str) -> Callable[..., Any]:
        if name not in self._builders:
            known = ", ".join(self.names()) or "(none)"
            raise KeyError(f"unknown {self.kind} '{name}'; known {self.kind}s: {known}")
        return self._builders[name]

    def info(self, name: str) -> dict[str, Any]:
        """The facts ``name`` was registered with (a copy); unknown names are an error listing the known ones."""
        self.get(name)
        return dict(self._info[name])

    def build(self, name: str, **kwargs: Any) -> Any:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._builders)

    def __contains__(self, name: str) -> bool:
        return name in self._builders


MODELS = Registry("model")
DATASETS = Registry("dataset")
