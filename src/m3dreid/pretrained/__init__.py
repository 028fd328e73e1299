"""Networks shipped inside the package, trained here on procedural people (see ``MODEL_CARD.md`` beside this file).

``pretrained_path("2d")`` / ``pretrained_path("m3d")`` give the checkpoint files; ``m3dreid index`` uses them (fused
with the ``appearance`` descriptor) when ``--model`` is omitted. Nothing is downloaded: the files are package data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["PRETRAINED", "pretrained_path"]

PRETRAINED = {"2d": "people_2d.pt", "m3d": "people_m3d.pt"}


def pretrained_path(name: str) -> Path:
    """The shipped checkpoint ``name`` (``2d`` | ``m3d``) as a file path."""
    if name not in PRETRAINED:
        raise FileNotFoundError(f"pretrained-{name}: no such shipped model (known: {', '.join(PRETRAINED)})")
    path = Path(str(resources.files(__package__) / PRETRAINED[name]))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the shipped checkpoint is missing from this install (rebuild the package)")
    return path
