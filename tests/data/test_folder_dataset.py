"""The `folder` dataset (ROOT/<split>/<pid>/<camid>/<tracklet>/*.jpg) and the converter from `m3dreid tracklets`."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from m3dreid.cli import main
from m3dreid.data import DatasetError, create_dataset
from m3dreid.video.crops import CSV_FIELDS


def _tracklets_dir(out, camid: int, tracks: dict[int, int]):
    """A folder as `m3dreid tracklets` writes it: bbox/<track>/<crop>.jpg and tracks.csv (track -> frame count)."""
    rows = []
    for track, frames in tracks.items():
        (out / "bbox" / f"{track:04d}").mkdir(parents=True)
        for f in range(frames):
            name = f"bbox/{track:04d}/{track:04d}C{camid}T0001F{f + 1:03d}.jpg"
            cv2.imwrite(str(out / name), np.full((16, 8, 3), 10 * track + f, np.uint8))
            rows.append({"track_id": track, "frame": f + 1, "x": 0, "y": 0, "w": 8, "h": 16, "score": 1.0,
                         "camid": camid, "path": name})  # fmt: skip
    with (out / "tracks.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return out


def test_converter_and_reader(tmp_path, capsys):
    cam1 = _tracklets_dir(tmp_path / "cam1", 0, {1: 3, 2: 12, 3: 2})
    cam2 = _tracklets_dir(tmp_path / "cam2", 1, {4: 5, 5: 4, 6: 2})
    labels = tmp_path / "labels.csv"
    labels.write_text("tracklets,track_id,pid,split\ncam1,1,7,train\ncam2,4,7,train\ncam1,3,9,train\n"
                      "cam2,6,9,train\ncam1,2,11,query\ncam2,5,11,gallery\n")  # fmt: skip
    out = tmp_path / "mine"
    argv = ["make-folder-dataset", str(cam1), str(cam2), "--labels", str(labels), "--out", str(out)]
    assert main(argv) == 0
    assert "train 4 tracklets, query 1 tracklets, gallery 1 tracklets" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "query" / "11" / "0").iterdir()) == ["cam1_t2"]
    data = create_dataset("folder", out)
    assert (data.num_train_pids, len(data.train), len(data.query), len(data.gallery)) == (2, 4, 1, 1)
    assert data.train_pids_original == (7, 9)
    assert [(t.pid, t.camid, len(t.frames)) for t in data.train] == [(0, 0, 3), (0, 1, 5), (1, 0, 2), (1, 1, 2)]
    query = data.query[0]
    assert (query.pid, query.camid, len(query.frames)) == (11, 0, 12)
    assert [f.rsplit("F", 1)[1] for f in query.frames][8:11] == ["009.jpg", "010.jpg", "011.jpg"]
    assert data.queries_without_match() == []
    assert main(argv) == 2  # never writes over a dataset without --overwrite
    assert "not empty" in capsys.readouterr().err


def test_bad_labels_and_layout_name_the_file(tmp_path, capsys):
    cam1 = _tracklets_dir(tmp_path / "cam1", 0, {1: 2})
    labels = tmp_path / "labels.csv"
    labels.write_text("tracklets,track_id,pid,split\ncam1,1,7,validation\n")
    argv = ["make-folder-dataset", str(cam1), "--labels", str(labels), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "labels.csv: row 2: pid must be >= 0 and split one of train, query, gallery" in capsys.readouterr().err
    labels.write_text("tracklets,track_id,pid,split\ncam1,9,7,train\n")
    assert main(argv) == 2
    assert "has no track 9" in capsys.readouterr().err
    (tmp_path / "bad" / "train" / "alice").mkdir(parents=True)
    for split in ("query", "gallery"):
        (tmp_path / "bad" / split).mkdir()
    with pytest.raises(DatasetError, match="alice: the pid folder's name must be a non-negative integer"):
        create_dataset("folder", tmp_path / "bad")
