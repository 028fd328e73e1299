"""Datasets (MARS, DukeMTMC-VideoReID, PRID2011, iLIDS-VID, synthetic, folder), sampling and clip loading.

``create_dataset(name, root, **kw)`` builds a registered reader; ``dataset_from_config(data_cfg)`` passes the config
fields each reader takes. Importing this package registers every reader in ``m3dreid.registry.DATASETS``; a new
dataset is one module with a ``@DATASETS.register(name, title=..., options=...)`` reader, imported below.
"""

from __future__ import annotations

from typing import Any

from m3dreid.data import duke_video as _duke_video  # noqa: F401  (importing a reader registers it)
from m3dreid.data import folder as _folder  # noqa: F401
from m3dreid.data import ilids_vid as _ilids_vid  # noqa: F401
from m3dreid.data import mars as _mars  # noqa: F401  (registers mars, synthetic)
from m3dreid.data import prid2011 as _prid2011  # noqa: F401
from m3dreid.data.base import DatasetError, Tracklet, VideoDataset, frame_number, sort_frames
from m3dreid.data.loader import ClipDataset, TrackletDataset, build_train_loader, load_tracklet
from m3dreid.data.samplers import PKBatchSampler
from m3dreid.registry import DATASETS

__all__ = [
    "DatasetError",
    "Tracklet",
    "VideoDataset",
    "frame_number",
    "sort_frames",
    "ClipDataset",
    "TrackletDataset",
    "PKBatchSampler",
    "build_train_loader",
    "load_tracklet",
    "create_dataset",
    "dataset_from_config",
    "list_datasets",
    "dataset_info",
]


def create_dataset(name: str, root: Any, **kwargs: Any) -> VideoDataset:
    """Read dataset ``name`` from ``root`` (its original layout); unknown names list the known ones."""
    return DATASETS.build(name, root=root, **kwargs)


def dataset_from_config(data_cfg: Any, **kwargs: Any) -> VideoDataset:
    """``create_dataset`` from a ``DataConfig``, passing only the fields the reader uses (e.g. split, protocol)."""
    from m3dreid.config import ConfigError

    if data_cfg.dataset not in DATASETS:
        raise ConfigError(f"data.dataset: unknown dataset '{data_cfg.dataset}' (known: {', '.join(DATASETS.names())})")
    keys = dataset_info(data_cfg.dataset).get("options", ())  # the DataConfig fields this reader takes
    options = {k: getattr(data_cfg, k) for k in keys} | kwargs
    return create_dataset(data_cfg.dataset, data_cfg.root, **options)


def list_datasets() -> list[str]:
    return DATASETS.names()


def dataset_info(name: str) -> dict[str, Any]:
    """What a reader was registered with: ``title``, ``options`` (DataConfig fields it takes), ``protocols`` (more
    than one: measured together from one extraction), ``splits`` (number of official splits), ``benchmark``."""
    info = DATASETS.info(name)
    return {"title": name, "options": (), "protocols": (), "splits": 1, "benchmark": False, **info}
