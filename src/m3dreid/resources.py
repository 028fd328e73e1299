"""Files that ship inside the package: the run configs (``configs/``) and the experiment sets (``experiment_sets/``).

They are found through :mod:`importlib.resources`, so a wheel installed anywhere has them; in a source checkout the
two folders are links to the top-level ``configs/`` and ``experiments/`` that the repository edits. A config is named
by path (``configs/cpu_demo_m3d.yaml``) or, when no such file exists, by the name of a packaged one
(``cpu_demo_m3d``, with or without ``.yaml``; ``configs/NAME.yaml`` too, so the README's commands work from any folder).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["configs_dir", "experiments_dir", "packaged_configs", "config_path"]


def _package_dir(name: str) -> Path:
    return Path(str(files("m3dreid") / name))


def configs_dir() -> Path:
    """The packaged run configs (``cpu_demo_2d.yaml``, ``mars_m3d.yaml``, ...)."""
    return _package_dir("configs")


def experiments_dir() -> Path:
    """The packaged experiment sets (``table1.yaml`` ... and their recipes)."""
    return _package_dir("experiment_sets")


def packaged_configs() -> list[str]:
    """Names of the packaged configs, sorted (what ``-c NAME`` accepts)."""
    return sorted(p.stem for p in configs_dir().glob("*.yaml"))


def config_path(name_or_path: str | Path) -> Path:
    """A config file: the path when it exists, else the packaged config of that name; else the path (not found)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    name = path.name if path.suffix == ".yaml" else f"{path.name}.yaml"
    packaged = configs_dir() / name
    if str(path.parent) in (".", "configs") and packaged.is_file():  # 'cpu_demo_m3d' or 'configs/cpu_demo_m3d.yaml'
        return packaged
    return path
