"""PRID2011 reader (Hirzer et al. 2011), multi-shot, with the standard video re-id protocol.

Layout (``root`` may also be the folder holding ``prid_2011/``)::

    root/multi_shot/cam_a/person_0001/0001.png ...
    root/multi_shot/cam_b/person_0001/0001.png ...

Protocol (as in the RNN-CNN paper of McLaughlin et al. 2016 and later work): of the first 200 persons, who appear in
both cameras, keep those with at least 27 frames in each (178); 10 random splits of 89 test / 89 train persons;
test persons' ``cam_a`` tracklet is the query, their ``cam_b`` tracklet the gallery; standard AP.
Splits come from a ``splits_prid2011.json`` (a list of ``{"test": [...], "train": [...]}`` of person folder names):
``split_file=`` or ``root/splits_prid2011.json``; without one, 10 splits are drawn with a fixed seed
(``GENERATED_SPLIT_SEED``) so that they are at least the same on every machine.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from m3dreid.data.base import DatasetError, Tracklet, VideoDataset, image_files, relabel
from m3dreid.registry import DATASETS

__all__ = ["read_prid2011", "prid2011_splits", "GENERATED_SPLIT_SEED"]

log = logging.getLogger(__name__)

FIRST_PERSONS = 200
MIN_FRAMES = 27
NUM_SPLITS = 10
GENERATED_SPLIT_SEED = 2011


def _base(root: Path) -> Path:
    for candidate in (root / "multi_shot", root / "prid_2011" / "multi_shot"):
        if candidate.is_dir():
            return candidate
    raise DatasetError(f"prid2011: missing under {root}: multi_shot/ (or prid_2011/multi_shot/)")


def prid2011_splits(persons: list[str], split_file: Path | None) -> list[dict[str, list[str]]]:
    """The 10 splits: read from ``split_file`` (validated against ``persons``) or drawn with the fixed seed."""
    if split_file is None:
        rng = np.random.default_rng(GENERATED_SPLIT_SEED)
        half = len(persons) // 2
        splits = []
        for _ in range(NUM_SPLITS):
            order = [persons[i] for i in rng.permutation(len(persons))]
            splits.append({"test": sorted(order[:half]), "train": sorted(order[half:])})
        return splits
    try:
        splits = json.loads(Path(split_file).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"{split_file}: cannot read split file ({err})") from None
    known = set(persons)
    for i, s in enumerate(splits):
        if not isinstance(s, dict) or set(s) != {"train", "test"}:
            raise DatasetError(f"{split_file}: split {i} must be a dict with 'train' and 'test' lists")
        unknown = sorted((set(s["train"]) | set(s["test"])) - known)
        if unknown:
            raise DatasetError(f"{split_file}: split {i} names {unknown[0]}, not among the {len(known)} kept persons")
        if set(s["train"]) & set(s["test"]):
            raise DatasetError(f"{split_file}: split {i} has persons in both train and test")
    return splits


def read_prid2011(root: str | Path, *, split: int = 0, split_file: str | Path | None = None) -> VideoDataset:
    root = Path(root).expanduser().resolve()
    base = _base(root)
    missing = [f"{cam}/person_{i:04d}" for cam in ("cam_a", "cam_b") for i in range(1, FIRST_PERSONS + 1)]
    missing = [m for m in missing if not (base / m).is_dir()]
    if missing:
        raise DatasetError(
            f"prid2011: missing under {base}: {', '.join(missing[:10])}" + (" ..." * (len(missing) > 10))
        )
    frames = {
        (cam, i): image_files(base / cam / f"person_{i:04d}")
        for cam in ("cam_a", "cam_b")
        for i in range(1, FIRST_PERSONS + 1)
    }
    persons = [
        f"person_{i:04d}"
        for i in range(1, FIRST_PERSONS + 1)
        if len(frames["cam_a", i]) >= MIN_FRAMES and len(frames["cam_b", i]) >= MIN_FRAMES
    ]
    if split_file is None and (root / "splits_prid2011.json").is_file():
        split_file = root / "splits_prid2011.json"
    splits = prid2011_splits(persons, Path(split_file) if split_file else None)
    if not 0 <= split < len(splits):
        raise DatasetError(f"prid2011: split {split} outside 0..{len(splits) - 1}")
    chosen = splits[split]

    def tracklets(names: list[str], cams: tuple[str, ...]) -> list[Tracklet]:
        out = []
        for name in sorted(names):
            pid = int(name.split("_")[1])
            for cam in cams:
                out.append(Tracklet(frames=frames[cam, pid], pid=pid, camid=0 if cam == "cam_a" else 1))
        return out

    train, original = relabel(tracklets(chosen["train"], ("cam_a", "cam_b")))
    dataset = VideoDataset(
        name="prid2011",
        train=train,
        query=tracklets(chosen["test"], ("cam_a",)),
        gallery=tracklets(chosen["test"], ("cam_b",)),
        train_pids_original=original,
        protocol=f"split {split}",
        root=str(root),
        extra={"persons_kept": len(persons), "split_file": str(split_file or "generated")},
    )
    log.info("%s (%d of the first %d persons kept)", dataset.summary(), len(persons), FIRST_PERSONS)
    return dataset


@DATASETS.register("prid2011", title="PRID2011", options=("split",), splits=10, benchmark=True)
def prid2011(*, root: str | Path, split: int = 0, split_file: str | Path | None = None) -> VideoDataset:
    return read_prid2011(root, split=split, split_file=split_file)
