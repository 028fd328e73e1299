"""A table's config set (``experiments/<table>.yaml``) and the resolved run config of one row, dataset and seed.

The YAML names the training recipes (ordinary config files, so ``m3dreid train -c`` reads them too) and the seeds::

    recipes: {2d: recipes/paper_2d.yaml, 3d: recipes/paper_3d.yaml}     # real datasets, per row recipe
    synthetic: {tiny: recipes/synthetic_tiny.yaml, small: recipes/synthetic_small.yaml}
    synthetic_3d: {small: recipes/synthetic_small_long.yaml}   # optional: the non-2D rows' synthetic recipe
    set: [eval.flip=false]           # overrides for every run of the table
    seeds: [0]                       # real datasets
    synthetic_seeds: [0, 1, 2]

On synthetic data every row uses the same recipe of the chosen size (one CPU-scale budget for every model), unless
``synthetic_3d`` names another recipe for that size: then the 2D rows keep ``synthetic`` and the others train with
``synthetic_3d``, as on real data, where the 2D rows use the paper's 2D recipe and the others its 3D recipe.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from m3dreid.config import Config, ConfigError, config_to_dict, load_config
from m3dreid.experiments.tables import RowSpec

__all__ = ["ConfigSet", "load_config_set", "default_experiments_dir", "row_config", "config_key", "SIZES"]

SIZES = ("tiny", "small")
_KEYS = {"recipes", "synthetic", "synthetic_3d", "set", "seeds", "synthetic_seeds"}


@dataclass(frozen=True)
class ConfigSet:
    """The recipes, overrides and seeds of one table, paths resolved against the YAML's folder."""

    path: Path
    recipes: dict[str, Path]  # 2d / 3d -> config file (real datasets)
    synthetic: dict[str, Path]  # tiny / small -> config file
    synthetic_3d: dict[str, Path]  # tiny / small -> config file of the non-2D rows (default: ``synthetic``)
    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    synthetic_seeds: tuple[int, ...]

    def recipe(self, row: RowSpec, *, data: str, size: str) -> Path:
        if data == "synthetic":
            if size not in self.synthetic:
                raise ConfigError(f"{self.path}: no synthetic recipe for size '{size}' (have {sorted(self.synthetic)})")
            if row.recipe != "2d" and size in self.synthetic_3d:
                return self.synthetic_3d[size]
            return self.synthetic[size]
        if row.recipe not in self.recipes:
            raise ConfigError(f"{self.path}: no recipe '{row.recipe}' (row '{row.key}'); have {sorted(self.recipes)}")
        return self.recipes[row.recipe]


def default_experiments_dir() -> Path:
    """The packaged experiment sets (in a source checkout: its ``experiments/`` folder)."""
    from m3dreid.resources import experiments_dir

    return experiments_dir()


def load_config_set(path: str | Path) -> ConfigSet:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config set not found (pass --experiments DIR holding <table>.yaml)")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    unknown = sorted(set(values) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")

    def files(key: str) -> dict[str, Path]:
        entries = values.get(key) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: '{key}' must map a name to a config file")
        resolved = {str(k): (path.parent / v).resolve() for k, v in entries.items()}
        missing = [f"{key}.{k} -> {v}" for k, v in resolved.items() if not v.is_file()]
        if missing:
            raise ConfigError(f"{path}: missing recipe file(s): " + ", ".join(missing))
        return resolved

    def ints(key: str, default: list[int]) -> tuple[int, ...]:
        seeds = values.get(key, default)
        if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise ConfigError(f"{path}: '{key}' must be a list of integers, got {seeds!r}")
        return tuple(seeds)

    overrides = values.get("set") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"{path}: 'set' must be a list of 'section.key=value' strings")
    return ConfigSet(
        path=path,
        recipes=files("recipes"),
        synthetic=files("synthetic"),
        synthetic_3d=files("synthetic_3d"),
        overrides=tuple(overrides),
        seeds=ints("seeds", [0]),
        synthetic_seeds=ints("synthetic_seeds", [0, 1, 2]),
    )


def row_config(
    config_set: ConfigSet, row: RowSpec, *, data: str, root: str, size: str, seed: int, split: int = 0
) -> Config:
    """The full run config of one trained row: recipe, table overrides, the row's model and knobs, data and seed."""
    if row.is_fusion:
        raise ValueError(f"row '{row.key}' fuses {row.streams} and is not trained itself")
    recipe = config_set.recipe(row, data=data, size=size)
    config = load_config(recipe, [*config_set.overrides, *row.settings])
    model = dataclasses.replace(config.model, name=row.model, kwargs={**config.model.kwargs, **dict(row.kwargs)})
    data_cfg = dataclasses.replace(config.data, dataset=data, root=str(root), split=split)
    train = dataclasses.replace(config.train, seed=seed)
    return dataclasses.replace(config, model=model, data=data_cfg, train=train)


def config_key(config: Config) -> str:
    """A short hash of everything that changes a run's result (all but its output folder): the run cache key."""
    values = config_to_dict(config)
    values.pop("output_dir", None)
    values["data"].pop("workers", None)
    values["eval"].pop("chunk_size", None)
    values["eval"].pop("batch_tracklets", None)
    text = yaml.safe_dump(values, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]
