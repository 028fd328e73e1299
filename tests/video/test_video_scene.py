"""The multi-camera synthetic scene: files, ground truth consistent with scene.json, determinism, the CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from m3dreid.cli import main
from m3dreid.video import read_mot
from m3dreid.video.scene import render_multicamera_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return render_multicamera_scene(
        tmp_path_factory.mktemp("scene") / "s", cameras=2, people=4, frames=40, size=(96, 128), seed=3
    )


def test_scene_files_and_ground_truth(scene):
    meta = json.loads((scene.root / "scene.json").read_text())
    assert [c["video"] for c in meta["cameras"]] == ["cam1.avi", "cam2.avi"]
    assert len(meta["tracks"]) == len(scene.tracks) > 0
    for cam, (video, gt) in enumerate(zip(scene.videos, scene.gt, strict=True), start=1):
        cap = cv2.VideoCapture(str(video))
        count = 0
        while cap.read()[0]:
            count += 1
        assert count == 40
        table = read_mot(gt)
        boxes = table.boxes
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 0] + boxes[:, 2] <= 128).all() and (boxes[:, 1] + boxes[:, 3] <= 96).all()
        listed = {t["track_id"] for t in meta["tracks"] if t["camid"] == cam}
        assert {int(i) for i in table.ids} == listed
        for rec in (t for t in meta["tracks"] if t["camid"] == cam):
            frames, _ = table.track(rec["track_id"])
            assert (frames.min(), frames.max()) == (rec["first_frame"], rec["last_frame"])
    # track ids are unique over the scene; persons map back
    ids = [t["track_id"] for t in meta["tracks"]]
    assert len(ids) == len(set(ids))
    first = meta["tracks"][0]
    assert scene.person_of(first["camid"], first["track_id"]) == first["person"]


def test_scene_is_deterministic(scene, tmp_path):
    again = render_multicamera_scene(tmp_path / "again", cameras=2, people=4, frames=40, size=(96, 128), seed=3)
    for a, b in zip(scene.gt, again.gt, strict=True):
        assert a.read_text() == b.read_text()
    cap_a, cap_b = cv2.VideoCapture(str(scene.videos[0])), cv2.VideoCapture(str(again.videos[0]))
    assert np.array_equal(cap_a.read()[1], cap_b.read()[1])


def test_make_scene_cli_refuses_an_existing_scene(tmp_path, capsys):
    args = ["make-scene", "--out", str(tmp_path / "s"), "--cameras", "1", "--people", "2", "--frames", "12",
            "--height", "64", "--width", "96"]  # fmt: skip
    assert main(args) == 0
    assert "1 camera videos" in capsys.readouterr().out
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "folder exists and is not empty (cam1.avi, cam1_gt.txt, scene.json)" in err and "--overwrite" in err
    before = (tmp_path / "s" / "scene.json").read_text()
    (tmp_path / "s" / "notes.txt").write_text("mine")  # not the command's: --overwrite leaves it alone
    assert main([*args, "--seed", "1", "--overwrite"]) == 0
    assert (tmp_path / "s" / "scene.json").read_text() != before
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine"
