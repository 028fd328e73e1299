"""PRID2011, iLIDS-VID and DukeMTMC-VideoReID readers on generated trees, with the real split files (fixtures).

Every frame is a hard link to one small PNG/JPEG (creating inodes is what makes big trees slow), frames are created
in shuffled order and some persons use unpadded names (frame 9 before frame 10) to prove sorting by frame number.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from m3dreid.data import DatasetError, create_dataset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PRID_DROPPED = {6, 19, 31, 52, 57, 62, 71, 94, 106, 120, 136, 138, 139, 142, 145, 158, 159, 166, 183, 190, 199, 200}
ILIDS_ABSENT = {11, 32, 72, 73, 78, 112, 132, 146, 156, 180, 211, 215, 247, 248, 250, 263, 267, 291, 292}


def _source(tmp: Path, ext: str) -> Path:
    path = tmp / f"source{ext}"
    if not path.exists():
        cv2.imwrite(str(path), np.full((8, 4, 3), 128, np.uint8))
    return path


def _tracklet(folder: Path, names: list[str], source: Path, rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for name in rng.sample(names, len(names)):  # shuffled creation (directory) order
        os.link(source, folder / name)


def _prid_tree(root: Path) -> None:
    src, rng = _source(root.parent, ".png"), random.Random(0)
    for cam in ("cam_a", "cam_b"):
        for i in range(1, 206):  # persons past 200 exist in the real data and must be ignored
            n = 20 if (i in PRID_DROPPED and cam == "cam_b") else 27 + i % 5
            names = [f"{f}.png" if i % 7 == 0 else f"{f:04d}.png" for f in range(1, n + 1)]  # some unpadded
            _tracklet(root / "multi_shot" / cam / f"person_{i:04d}", names, src, rng)


def test_prid2011_official_splits(tmp_path):
    root = tmp_path / "prid"
    _prid_tree(root)
    shutil.copy(FIXTURES / "splits_prid2011.json", root / "splits_prid2011.json")
    splits = json.loads((FIXTURES / "splits_prid2011.json").read_text())
    for k in (0, 9):
        ds = create_dataset("prid2011", root, split=k)
        assert ds.extra["persons_kept"] == 178
        assert ds.num_train_pids == 89 and len(ds.train) == 178
        assert len(ds.query) == 89 and len(ds.gallery) == 89
        assert {t.camid for t in ds.query} == {0} and {t.camid for t in ds.gallery} == {1}
        assert {f"person_{t.pid:04d}" for t in ds.query} == set(splits[k]["test"])
        assert {f"person_{p:04d}" for p in ds.train_pids_original} == set(splits[k]["train"])
        assert ds.queries_without_match() == []
    person7 = next(t for t in ds.query + ds.train if "person_0007" in t.frames[0])
    names = [Path(f).name for f in person7.frames]
    assert names[:11] == [f"{f}.png" for f in range(1, 12)]  # 9, 10, 11 in numeric order


def test_prid2011_generated_splits_and_missing_person(tmp_path):
    root = tmp_path / "prid"
    _prid_tree(root)
    a = create_dataset("prid2011", root, split=3)
    b = create_dataset("prid2011", root, split=3)
    assert [t.pid for t in a.query] == [t.pid for t in b.query]  # fixed seed
    assert len(a.query) == 89 and a.num_train_pids == 89
    assert not {t.pid for t in a.query} & set(a.train_pids_original)
    shutil.rmtree(root / "multi_shot" / "cam_b" / "person_0042")
    with pytest.raises(DatasetError, match="cam_b/person_0042"):
        create_dataset("prid2011", root)


def _ilids_tree(root: Path) -> list[str]:
    src, rng = _source(root.parent, ".png"), random.Random(1)
    persons = [f"person{i:03d}" for i in range(1, 320) if i not in ILIDS_ABSENT]
    for cam in ("cam1", "cam2"):
        for p in persons:
            frames = [317, 9, 10] if p == "person002" else [5, 6]
            names = [f"{cam}_{p}_{f:05d}.png" if p != "person002" else f"{cam}_{p}_{f}.png" for f in frames]
            _tracklet(root / "i-LIDS-VID" / "sequences" / cam / p, names, src, rng)
    splits = root / "train-test people splits"
    splits.mkdir()
    shutil.copy(FIXTURES / "splits_ilidsvid.mat", splits / "train_test_splits_ilidsvid.mat")
    return persons


def test_ilids_vid_official_splits(tmp_path):
    root = tmp_path / "ilids"
    persons = _ilids_tree(root)
    assert len(persons) == 300
    ls_set = scipy.io.loadmat(str(FIXTURES / "splits_ilidsvid.mat"))["ls_set"].astype(int)
    for k in (0, 9):
        ds = create_dataset("ilids_vid", root, split=k)
        assert len(ds.query) == 150 and len(ds.gallery) == 150 and ds.num_train_pids == 150 and len(ds.train) == 300
        assert {t.camid for t in ds.query} == {0} and {t.camid for t in ds.gallery} == {1}
        assert {f"person{t.pid:03d}" for t in ds.query} == {persons[i - 1] for i in ls_set[k, :150]}
        assert {f"person{p:03d}" for p in ds.train_pids_original} == {persons[i - 1] for i in ls_set[k, 150:]}
    two = next(t for t in ds.query + ds.gallery + ds.train if "person002" in t.frames[0] and t.camid == 0)
    assert [Path(f).name for f in two.frames] == [
        "cam1_person002_9.png",
        "cam1_person002_10.png",
        "cam1_person002_317.png",
    ]
    (root / "train-test people splits" / "train_test_splits_ilidsvid.mat").unlink()
    with pytest.raises(DatasetError, match="train_test_splits_ilidsvid.mat"):
        create_dataset("ilids_vid", root)


def test_ilids_vid_empty_sequence_is_an_error(tmp_path):
    root = tmp_path / "ilids"
    persons = _ilids_tree(root)
    folder = root / "i-LIDS-VID" / "sequences" / "cam2" / persons[0]
    for f in folder.iterdir():
        f.unlink()
    with pytest.raises(DatasetError, match=f"cam2/{persons[0]}: empty tracklet"):
        create_dataset("ilids_vid", root)


def test_duke_video_layout_frame_order_and_empty_skip(tmp_path):
    root, src, rng = tmp_path / "duke", _source(tmp_path, ".jpg"), random.Random(2)
    layout = {"train": {"0001": 6, "0005": 2, "0009": 1}, "query": {"0002": 1, "0003": 3}, "gallery": {"0002": 2,
              "0003": 2, "0000": 1}}  # fmt: skip
    for split, pids in layout.items():
        for pid, cam in pids.items():
            # X numbers decrease while frames increase: sorting must use _F, not the last number in the name
            names = [f"{pid}_C{cam}_F{f:04d}_X{9000 - f}.jpg" for f in (1, 2, 10, 100)]
            _tracklet(root / split / pid / "0001", names, src, rng)
    (root / "gallery" / "0003" / "0002").mkdir()  # empty tracklet folder
    ds = create_dataset("duke_video", root)
    assert ds.num_train_pids == 3 and ds.train_pids_original == (1, 5, 9)
    assert [t.camid for t in ds.train] == [5, 1, 0]
    assert len(ds.query) == 2 and len(ds.gallery) == 3 and ds.extra["skipped_empty"] == 1
    assert [Path(f).name.split("_")[2] for f in ds.query[0].frames] == ["F0001", "F0002", "F0010", "F0100"]
    assert ds.queries_without_match() == []
    os.link(src, root / "train" / "0001" / "0001" / "0001_C2_F0003_X1.jpg")
    with pytest.raises(DatasetError, match="0001/0001: frames from cameras"):
        create_dataset("duke_video", root)
