"""iLIDS-VID reader (Wang et al. 2014) with the 10 official train/test splits.

Layout, as ``iLIDS-VID.tar`` extracts (``root`` holds both folders)::

    root/i-LIDS-VID/sequences/cam1/person001/cam1_person001_00317.png ...
    root/i-LIDS-VID/sequences/cam2/person001/...
    root/train-test people splits/train_test_splits_ilidsvid.mat     (ls_set: 10 x 300, 1-based)

Split ``i``: ``ls_set[i, :150]`` are the test persons, ``ls_set[i, 150:]`` the train persons, index ``k`` naming the
``k``-th person folder of ``cam1`` in sorted order (the reading torchreid uses). Test persons' ``cam1`` sequence is the
query, their ``cam2`` sequence the gallery; standard AP. Frames are sorted by the number at the end of the name.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import scipy.io

from m3dreid.data.base import DatasetError, Tracklet, VideoDataset, image_files, relabel, require_paths
from m3dreid.registry import DATASETS

__all__ = ["read_ilids_vid", "SPLIT_FILE"]

log = logging.getLogger(__name__)

SEQUENCES = "i-LIDS-VID/sequences"
SPLIT_FILE = "train-test people splits/train_test_splits_ilidsvid.mat"
_PERSON = re.compile(r"person(\d+)$")


def _persons(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _PERSON.match(p.name))


def read_ilids_vid(root: str | Path, *, split: int = 0, split_file: str | Path | None = None) -> VideoDataset:
    root = Path(root).expanduser().resolve()
    required = [f"{SEQUENCES}/cam1", f"{SEQUENCES}/cam2"] + ([] if split_file else [SPLIT_FILE])
    require_paths("ilids_vid", root, required)
    split_path = Path(split_file) if split_file else root / SPLIT_FILE
    try:
        ls_set = np.asarray(scipy.io.loadmat(str(split_path))["ls_set"]).astype(np.int64)
    except (OSError, ValueError, KeyError) as err:
        raise DatasetError(f"{split_path}: cannot read 'ls_set' ({err})") from None
    seq = root / SEQUENCES
    persons = _persons(seq / "cam1")
    if persons != _persons(seq / "cam2"):
        only = sorted(set(persons) ^ set(_persons(seq / "cam2")))
        raise DatasetError(f"ilids_vid: {seq}: cam1 and cam2 hold different persons (e.g. {only[0]})")
    if ls_set.ndim != 2 or not 0 <= split < ls_set.shape[0]:
        raise DatasetError(f"{split_path}: split {split} not in an ls_set of shape {ls_set.shape}")
    row = ls_set[split]
    if sorted(row.tolist()) != list(range(1, len(persons) + 1)):
        raise DatasetError(f"{split_path}: row {split} is not a permutation of 1..{len(persons)} (person folders)")
    half = len(row) // 2
    test_names = [persons[k - 1] for k in sorted(row[:half])]
    train_names = [persons[k - 1] for k in sorted(row[half:])]

    def tracklets(names: list[str], cams: tuple[str, ...]) -> list[Tracklet]:
        out = []
        for name in names:
            for cam in cams:
                frames = image_files(seq / cam / name)
                if not frames:
                    raise DatasetError(f"{seq / cam / name}: empty tracklet (no images)")
                out.append(Tracklet(frames=frames, pid=int(_PERSON.match(name).group(1)), camid=int(cam[-1]) - 1))
        return out

    train, original = relabel(tracklets(train_names, ("cam1", "cam2")))
    dataset = VideoDataset(
        name="ilids_vid",
        train=train,
        query=tracklets(test_names, ("cam1",)),
        gallery=tracklets(test_names, ("cam2",)),
        train_pids_original=original,
        protocol=f"split {split}",
        root=str(root),
        extra={"split_file": str(split_path)},
    )
    log.info("%s", dataset.summary())
    return dataset


@DATASETS.register("ilids_vid", title="iLIDS-VID", options=("split",), splits=10, benchmark=True)
def ilids_vid(*, root: str | Path, split: int = 0, split_file: str | Path | None = None) -> VideoDataset:
    return read_ilids_vid(root, split=split, split_file=split_file)
