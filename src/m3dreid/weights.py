"""Weight files: safe reads (``torch.load(weights_only=True)``), atomic writes, and the one way weights enter a model.

Every place that puts a file's tensors into a model (ImageNet weights into a ResNet, 2D weights into a video
backbone, a stream's checkpoint into a two-stream model, a trained checkpoint for evaluation or fine-tuning) goes
through :func:`load_weights`, which compares the file with the model first and either loads it or raises one
:class:`CheckpointError` that names the file and lists every missing, unexpected and mis-shaped key. Nothing here
knows about training: the training state (optimizer, scheduler, RNG) is :mod:`m3dreid.engine.checkpoint`'s.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from m3dreid.errors import UserError
from m3dreid.utils.io import atomic_write

__all__ = [
    "CheckpointError",
    "WeightFit",
    "atomic_save",
    "load_file",
    "extract_state_dict",
    "read_state_dict",
    "weight_fit",
    "load_weights",
]

log = logging.getLogger(__name__)


class CheckpointError(UserError, RuntimeError):
    """A weight or checkpoint file is missing, truncated, not a torch file, or does not fit the model."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same folder, fsync, then rename: a crash never leaves half a file."""
    return atomic_write(path, partial(torch.save, obj))


def load_file(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with one clear error for every way the file can be bad."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: file is empty")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        msg = f"{path}: not a readable torch weights file (truncated or corrupt?): {first_line}"
        raise CheckpointError(msg) from None
    except Exception as err:  # the unpickler raises its own types for foreign or malicious content
        raise CheckpointError(f"{path}: refused to load ({type(err).__name__}: {str(err)[:200]})") from None


def extract_state_dict(obj: Any, path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict inside a loaded file: a bare one, or under 'model' / 'state_dict'."""
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: does not hold a state dict (a mapping of names to tensors)")
    # Weights saved from DataParallel / DDP carry a 'module.' prefix.
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict of a weight file (bare, or a checkpoint's ``model``), read safely."""
    return extract_state_dict(load_file(path), path)


@dataclass(frozen=True)
class WeightFit:
    """How a state dict fits a model: what loads, and every key that does not (names sorted)."""

    loaded: tuple[str, ...]  # model keys that take the file's tensor
    kept_init: tuple[str, ...]  # model keys left at their initialisation on purpose (skipped or allowed missing)
    missing: tuple[str, ...]  # model keys the file lacks
    unexpected: tuple[str, ...]  # file keys the model lacks
    misshaped: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]  # (key, file shape, model shape)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.misshaped)

    def describe(self, limit: int = 10) -> str:
        """``missing N keys: a, b; unexpected ...; key: file has (..), model has (..)`` (at most ``limit`` each)."""

        def names(keys: tuple[str, ...]) -> str:
            return ", ".join(keys[:limit]) + (" ..." if len(keys) > limit else "")

        parts = [f"missing {len(self.missing)} keys: {names(self.missing)}"] * bool(self.missing)
        parts += [f"unexpected {len(self.unexpected)} keys: {names(self.unexpected)}"] * bool(self.unexpected)
        parts += [f"{k}: file has {f}, model has {m}" for k, f, m in self.misshaped[:limit]]
        return "; ".join(parts) or f"all {len(self.loaded)} tensors fit"


def _in_modules(key: str, modules: tuple[str, ...]) -> bool:
    # a key inside a module of one of these names, at any depth (e.g. 'spatial.classifier.weight')
    return bool(set(key.split(".")[:-1]) & set(modules))


def weight_fit(
    own: Mapping[str, torch.Tensor],
    state: Mapping[str, torch.Tensor],
    *,
    skip_modules: tuple[str, ...] = (),
    allow_missing: Callable[[str], bool] | None = None,
) -> WeightFit:
    """Compare a model's state dict ``own`` with a file's ``state``.

    Keys inside a ``skip_modules`` module (e.g. the identity ``classifier``, whose size depends on the training set)
    load when they fit and otherwise keep their initialisation without an error; model keys for which
    ``allow_missing(key)`` holds may be absent from the file (e.g. the temporal parts a 2D file has none of).
    """
    loaded, kept, missing, misshaped = [], [], [], []
    for key, value in own.items():
        skip = _in_modules(key, skip_modules)
        if key not in state:
            (kept if skip or (allow_missing is not None and allow_missing(key)) else missing).append(key)
        elif tuple(state[key].shape) != tuple(value.shape):
            if skip:
                kept.append(key)
            else:
                misshaped.append((key, tuple(state[key].shape), tuple(value.shape)))
        else:
            loaded.append(key)
    unexpected = [k for k in state if k not in own and not _in_modules(k, skip_modules)]
    return WeightFit(
        loaded=tuple(sorted(loaded)),
        kept_init=tuple(sorted(kept)),
        missing=tuple(sorted(missing)),
        unexpected=tuple(sorted(unexpected)),
        misshaped=tuple(sorted(misshaped)),
    )


def load_weights(
    model: nn.Module,
    source: str | Path | Mapping[str, torch.Tensor],
    *,
    drop_prefixes: tuple[str, ...] = (),
    skip_modules: tuple[str, ...] = (),
    allow_missing: Callable[[str], bool] | None = None,
    what: str = "the model",
    where: str | Path | None = None,
) -> WeightFit:
    """Load a weight file (or a state dict) into ``model`` after checking that it fits; return the fit.

    ``drop_prefixes``: keys starting with these are left out on both sides (e.g. ``fc.`` of an ImageNet file: ReID
    models train their own head). ``skip_modules`` / ``allow_missing``: see :func:`weight_fit`. Anything else that does
    not fit is a :class:`CheckpointError` naming the file (``where``, default the path) and ``what`` it was meant for.
    """
    if isinstance(source, Mapping):
        state, where = dict(source), where or "<state dict>"
    else:
        state, where = read_state_dict(source), where or source
    own = model.state_dict()
    if drop_prefixes:
        state = {k: v for k, v in state.items() if not k.startswith(drop_prefixes)}
        own = {k: v for k, v in own.items() if not k.startswith(drop_prefixes)}
    fit = weight_fit(own, state, skip_modules=skip_modules, allow_missing=allow_missing)
    if not fit.ok:
        raise CheckpointError(f"{where}: does not fit {what}: {fit.describe()}")
    model.load_state_dict({k: state[k] for k in fit.loaded}, strict=False)
    log.debug("%s: loaded %d tensors (%d kept at init)", where, len(fit.loaded), len(fit.kept_init))
    return fit
