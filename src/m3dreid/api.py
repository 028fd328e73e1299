"""The Python API for inference: one call from a trained model to features of your own crops.

    import m3dreid
    embedder = m3dreid.load("runs/demo/m3d/last.pt")     # a checkpoint, a run or pretrained folder, or a packaged name
    f = embedder.embed_tracklet("crops/person_07/")      # (D,) float32: one person's crops, in frame-number order
    F = embedder.embed_dirs(["crops/a/", "crops/b/"])    # (N, D), one row a folder
    g = embedder.embed(frames)                           # frames: image paths or a (T, H, W, 3) uint8 RGB array

Features are the ones ``m3dreid eval`` computes (whole tracklets, chunked with the model's temporal halo, so a
sequence of any length runs in bounded memory): frames are read, resized and normalised as the model's own config
says. ``save_pretrained(folder)`` writes ``config.yaml`` and ``model.pt`` (weights and config, read back with
``torch.load(weights_only=True)``); ``from_pretrained(folder, sha256=...)`` checks the file's hash when given one.
Packaged models (weights shipped inside the package) are found by name: :func:`register_pretrained`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from m3dreid.config import Config, config_to_dict, dump_config
from m3dreid.utils.device import resolve_device
from m3dreid.utils.io import atomic_write_text
from m3dreid.weights import CheckpointError, atomic_save

__all__ = [
    "Embedder",
    "PretrainedModel",
    "PRETRAINED",
    "register_pretrained",
    "pretrained_names",
    "load",
    "from_pretrained",
    "sha256_of",
]

log = logging.getLogger(__name__)

WEIGHTS_NAME = "model.pt"  # a pretrained folder: the model's weights and config ...
CONFIG_NAME = "config.yaml"  # ... and the same config, readable


@dataclass(frozen=True)
class PretrainedModel:
    """A model shipped inside the package: ``folder`` (relative to the package) holds ``model.pt``."""

    name: str
    folder: str
    sha256: str = ""  # of model.pt; checked on every load when set
    description: str = ""

    def path(self) -> Path:
        from importlib.resources import files

        return Path(str(files("m3dreid") / self.folder))


PRETRAINED: dict[str, PretrainedModel] = {}  # name -> packaged model; filled by register_pretrained


def register_pretrained(name: str, *, folder: str, sha256: str = "", description: str = "") -> PretrainedModel:
    """Make ``m3dreid.load(name)`` find a model folder shipped in the package (``folder`` relative to ``m3dreid/``)."""
    if name in PRETRAINED:
        raise KeyError(f"pretrained model '{name}' is registered twice")
    PRETRAINED[name] = PretrainedModel(name=name, folder=folder, sha256=sha256, description=description)
    return PRETRAINED[name]


def pretrained_names() -> list[str]:
    return sorted(PRETRAINED)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _as_tensor_clip(frames: Any, config: Config) -> torch.Tensor | None:
    """An in-memory ``(T, H, W, 3)`` uint8 RGB array as the model's normalised ``(T, 3, H, W)``; None for paths."""
    if isinstance(frames, str | Path) or (
        isinstance(frames, Sequence) and frames and isinstance(frames[0], str | Path)
    ):
        return None
    import cv2

    from m3dreid.data.transforms import normalize

    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"frames: expected image paths or a (T, H, W, 3) uint8 RGB array, got {array.dtype} "
                         f"{tuple(array.shape)}")  # fmt: skip
    h, w = config.data.height, config.data.width
    if array.shape[1:3] != (h, w):
        array = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in array])
    return normalize(array, config.data.mean, config.data.std)  # (T, 3, H, W)


class Embedder:
    """A trained model in eval mode and the config that says how its frames are read; see the module docstring."""

    def __init__(self, model: nn.Module, config: Config, *, device: str | torch.device | None = "auto") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config = config
        self.chunk_size = config.eval.chunk_size

    @property
    def model_name(self) -> str:
        return self.config.model.name

    @property
    def feature_dim(self) -> int:
        return int(self.model.feature_dim)

    def _extract(self, tracklets: list, *, progress: bool = False, **loaders: Any) -> np.ndarray:
        from m3dreid.evaluation.extract import extract_features
        from m3dreid.utils.fast_paths import fast_paths

        with torch.no_grad():
            feats = extract_features(
                self.model,
                tracklets,
                chunk_size=self.chunk_size,
                device=self.device,
                flip=self.config.eval.flip,
                **fast_paths(self.config.train, self.device).extract_kwargs(),
                progress=progress,
                **loaders,
            )
        return feats.numpy().astype(np.float32)

    def _frames_loader(self):
        from m3dreid.data.loader import load_frames

        return {"load_frames_fn": lambda tracklet, indices: load_frames(tracklet, self.config.data, indices)}

    def embed(self, frames: Sequence[str | Path] | np.ndarray) -> np.ndarray:
        """``(D,)`` feature of one tracklet: its frames' paths (in order) or a ``(T, H, W, 3)`` uint8 RGB array."""
        from m3dreid.data.base import Tracklet

        clip = _as_tensor_clip(frames, self.config)
        if clip is not None:
            return self._extract([clip])[0]  # the tensor is the tracklet (no loader)
        paths = [str(frames)] if isinstance(frames, str | Path) else [str(p) for p in frames]
        if not paths:
            raise ValueError("embed: no frames")
        return self._extract([Tracklet(tuple(paths), -1, -1)], **self._frames_loader())[0]

    def embed_tracklet(self, folder: str | Path) -> np.ndarray:
        """``(D,)`` feature of the crops in ``folder``, taken in frame-number order (``f10`` after ``f9``)."""
        return self.embed_dirs([folder])[0]

    def embed_dirs(self, folders: Sequence[str | Path], *, progress: bool = False) -> np.ndarray:
        """``(N, D)`` features, one row per folder of crops (each a whole tracklet, chunked)."""
        from m3dreid.data.base import Tracklet, image_files

        tracklets = []
        for folder in folders:
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"{folder}: not a folder")
            frames = image_files(folder)
            if not frames:
                raise FileNotFoundError(f"{folder}: no images in the folder")
            tracklets.append(Tracklet(frames, -1, -1))
        if not tracklets:
            return np.zeros((0, self.feature_dim), np.float32)
        return self._extract(tracklets, progress=progress, **self._frames_loader())

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``folder/model.pt`` (weights + config) and ``folder/config.yaml``; returns ``model.pt``'s path."""
        folder = Path(folder)
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        path = atomic_save({"model": state, "config": config_to_dict(self.config)}, folder / WEIGHTS_NAME)
        atomic_write_text(folder / CONFIG_NAME, dump_config(self.config))
        log.info("saved %s (sha256 %s)", path, sha256_of(path))
        return path

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, *, sha256: str = "", device: str | torch.device | None = "auto"
    ) -> Embedder:
        """The model of a folder written by :meth:`save_pretrained` (a run folder: ``model.pt``, else ``last.pt``)."""
        from m3dreid.models.build import load_trained

        folder = Path(folder)
        path = next((folder / n for n in (WEIGHTS_NAME, "last.pt") if (folder / n).is_file()), folder / WEIGHTS_NAME)
        if sha256 and path.is_file():
            actual = sha256_of(path)
            if actual != sha256.lower():
                raise CheckpointError(f"{path}: sha256 {actual} does not match the expected {sha256.lower()}")
        model, config = load_trained(path, device="cpu")
        return cls(model, config, device=device)


def from_pretrained(folder: str | Path, *, sha256: str = "", device: str | torch.device | None = "auto") -> Embedder:
    return Embedder.from_pretrained(folder, sha256=sha256, device=device)


def load(path_or_name: str | Path, *, sha256: str = "", device: str | torch.device | None = "auto") -> Embedder:
    """An :class:`Embedder` from a checkpoint file, a run or pretrained folder, or the name of a packaged model."""
    from m3dreid.models.build import load_trained

    path = Path(path_or_name)
    if path.is_dir():
        return Embedder.from_pretrained(path, sha256=sha256, device=device)
    if path.is_file():
        if sha256 and sha256_of(path) != sha256.lower():
            raise CheckpointError(f"{path}: sha256 {sha256_of(path)} does not match the expected {sha256.lower()}")
        model, config = load_trained(path, device="cpu")
        return Embedder(model, config, device=device)
    name = str(path_or_name)
    if name in PRETRAINED:
        entry = PRETRAINED[name]
        return Embedder.from_pretrained(entry.path(), sha256=sha256 or entry.sha256, device=device)
    from m3dreid.pretrained import PRETRAINED as SHIPPED
    from m3dreid.pretrained import pretrained_path

    shipped = name.removeprefix("pretrained-")
    if shipped in SHIPPED:  # the networks shipped as package data (m3dreid/pretrained/MODEL_CARD.md)
        return load(pretrained_path(shipped), sha256=sha256, device=device)
    known = ", ".join([*pretrained_names(), *(f"pretrained-{k}" for k in SHIPPED)]) or "none yet"
    raise CheckpointError(f"{name}: no such checkpoint file or folder, nor a packaged model (packaged: {known})")
