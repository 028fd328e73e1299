"""``m3dreid adapt``: the constraints it derives from tracklets alone (hand-worked), and end to end on a tiny synthetic
two-camera scene it raises the scene's own tracklet-matching mAP over its --init checkpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from m3dreid.cli import main
from m3dreid.engine.adapt import cannot_link_pairs, mutual_links, pseudo_labels, read_adapt_tracklets
from m3dreid.engine.checkpoint import load_file
from m3dreid.evaluation.tracklet_matching import tracklet_matching
from m3dreid.index import read_tracklet_dir
from m3dreid.index.embedders import load_embedder, warn_if_synthetic
from m3dreid.video.scene import render_multicamera_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_helpers import save_checkpoint  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def test_cannot_link_pairs_are_tracklets_sharing_a_frame_of_one_video():
    meta = [
        {"video": 0, "frames": {1, 2, 3}},
        {"video": 0, "frames": {3, 4}},  # shares frame 3 with 0
        {"video": 0, "frames": {5, 6}},  # after both
        {"video": 1, "frames": {1, 2, 3}},  # same frames, another video: unknown
        {"video": 0, "frames": {1, 6}},  # a gap: shares 1 with 0 and 6 with 2, not with 1
    ]
    assert cannot_link_pairs(meta) == {(0, 1), (0, 4), (2, 4)}


def test_mutual_links_need_both_directions_and_respect_forbidden_pairs():
    feats = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99], [0.7, 0.7]], np.float32)
    assert sorted(mutual_links(feats, set(), quantile=1.0)) == [(0, 1), (2, 3)]
    # forbidding (0, 1): 0's nearest allowed is 4, 4's nearest is 1 or 3 (not 0): no link for 0 any more
    assert sorted(mutual_links(feats, {(0, 1)}, quantile=1.0)) == [(2, 3)]
    # the quantile threshold keeps only the closest mutual pair: (2, 3) and (0, 1) are equally close here
    assert len(mutual_links(feats, set(), quantile=0.0)) <= 1


def test_pseudo_labels_refuse_a_merge_across_a_cannot_link_pair():
    labels = pseudo_labels(4, [(0, 1), (1, 2), (2, 3)], forbidden={(0, 2)})
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]
    assert pseudo_labels(3, [], set()).tolist() == [0, 1, 2]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapt_scene")
    made = render_multicamera_scene(root, cameras=2, people=6, frames=60, size=(120, 160), seed=3)
    for cam, (video, gt) in enumerate(zip(made.videos, made.gt, strict=True), start=1):
        args = ["tracklets", str(video), "--out", str(root / f"cam{cam}"), "--detections", str(gt),
                "--camid", str(cam), "--height", "64", "--width", "32", "--no-progress"]  # fmt: skip
        assert main(args) == 0
    return root


def _persons(root: Path, dirs: list[str]) -> list[int]:
    tracks = json.loads((root / "scene.json").read_text())["tracks"]
    person = {(t["camid"], t["track_id"]): t["person"] for t in tracks}
    return [person[(m["camid"], m["track_id"])] for d in dirs for m in read_tracklet_dir(d, min_length=2)[1]]


def test_adapt_raises_the_scenes_own_tracklet_matching_map(scene, tmp_path):
    dirs = [str(scene / "cam1"), str(scene / "cam2")]
    tracklets, _ = read_adapt_tracklets(dirs)
    persons = _persons(scene, dirs)
    assert len(tracklets) == len(persons) == 12 and len(set(persons)) == 6  # the scene's seed fixes these
    _, init = save_checkpoint("resnet50_2d", tmp_path / "init.pt")
    before = tracklet_matching(load_embedder(str(init)).embed(tracklets), persons)["mAP"]
    out = tmp_path / "run"
    args = [*dirs, "--out", str(out), "--init", str(init), "--rounds", "2", "--steps", "20", "--no-progress"]
    assert main(["adapt", *args]) == 0
    adapted = load_embedder(str(out / "model.pt"))
    after = tracklet_matching(adapted.embed(tracklets), persons)["mAP"]
    assert after > before + 0.05, (before, after)
    meta = load_file(out / "model.pt")["meta"]
    assert [r["round"] for r in meta["adapt"]["rounds"]] == [1, 2] and not adapted.synthetic_only
    assert main(["adapt", *args]) == 2  # no overwrite without --overwrite
    # index takes the adapted checkpoint; a synthetic-only checkpoint warns on real footage, not on a scene
    assert main(["index", *dirs, "--model", str(out / "model.pt"), "--out", str(tmp_path / "idx"),
                 "--no-progress"]) == 0  # fmt: skip
    original = load_embedder(str(init))
    assert original.synthetic_only
    assert warn_if_synthetic(original, sources=dirs) == ""  # cut from a synthetic scene
    real = tmp_path / "real"
    real.mkdir()
    (real / "video.json").write_text(json.dumps({"video": "/footage/cam1.mp4"}))
    assert "synthetic data only" in warn_if_synthetic(original, sources=[str(real)])


def test_adapt_from_the_appearance_descriptor_and_bad_input(scene, tmp_path, capsys):
    dirs = [str(scene / "cam1"), str(scene / "cam2")]
    out = tmp_path / "from_appearance"
    args = ["adapt", *dirs, "--out", str(out), "--init", "appearance", "--rounds", "1", "--steps", "2", "--no-progress"]
    assert main(args) == 0
    meta = load_file(out / "model.pt")["meta"]
    assert meta["adapt"]["init"] == "appearance" and meta["training_data"] == "synthetic"
    assert meta["adapt"]["rounds"][0]["tracklets"] == 12
    capsys.readouterr()
    assert main(["adapt", str(tmp_path), "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no tracks.csv" in err[0]
