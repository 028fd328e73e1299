"""FAISS gallery search ranks exactly as the evaluation's distance matrix, and the index/search commands work end to
end on tracklets cut from the real TUD-Campus video (two "cameras")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from m3dreid.cli import main
from m3dreid.evaluation import pairwise_distance
from m3dreid.index import GalleryIndex, embed_tracklets, read_tracklet_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_helpers import save_checkpoint, tiny_config  # noqa: E402

SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_search_ranking_equals_evaluation_ranking(metric, kind):
    rng = np.random.default_rng(0)
    gallery = rng.standard_normal((300, 24)).astype(np.float32)
    queries = rng.standard_normal((7, 24)).astype(np.float32)
    meta = [{"i": i} for i in range(len(gallery))]
    index = GalleryIndex.build(gallery, meta, metric=metric, kind=kind, nlist=6)
    index.set_nprobe(6)  # visit every IVF cell: exact
    distances, ids = index.search(queries, k=len(gallery))
    distmat = pairwise_distance(queries, gallery, metric=metric).numpy()  # (Q, G), the evaluation's distances
    expected = np.argsort(distmat, axis=1, kind="stable")
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_allclose(distances, np.take_along_axis(distmat, expected, axis=1), rtol=1e-4, atol=1e-4)


def test_index_save_load_roundtrip(tmp_path):
    feats = np.random.default_rng(1).standard_normal((40, 8)).astype(np.float32)
    GalleryIndex.build(feats, [{"n": i} for i in range(40)], kind="ivf", nlist=2, info={"a": 1}).save(tmp_path)
    back = GalleryIndex.load(tmp_path)
    assert (back.kind, back.metric, back.info, back.meta[5]) == ("ivf", "euclidean", {"a": 1}, {"n": 5})
    np.testing.assert_array_equal(back.features, feats)
    (tmp_path / "features.npy").unlink()
    with pytest.raises(FileNotFoundError, match="missing features.npy"):
        GalleryIndex.load(tmp_path)


def test_index_and_search_commands_across_two_cameras(tmp_path, capsys, monkeypatch):
    model, ckpt = save_checkpoint("m3d_resnet50", tmp_path / "m3d.pt")
    gt = str(SEQ / "gt" / "gt.txt")
    video = str(SEQ / "TUD-Campus.mp4")
    monkeypatch.chdir(tmp_path)  # build with relative paths, search from elsewhere: the index must not care
    for cam, frames in ((1, "10"), (2, "20")):
        args = ["tracklets", video, "--out", f"cam{cam}", "--detections", gt, "--camid", str(cam),
                "--max-frames", frames, "--height", "64", "--width", "32", "--no-progress"]  # fmt: skip
        assert main(args) == 0
    assert main(["index", "cam1", "cam2", "--model", "m3d.pt", "--out", "idx", "--no-progress"]) == 0
    index = GalleryIndex.load(tmp_path / "idx")
    cams = [m["camid"] for m in index.meta]
    assert cams.count(1) == 6 and cams.count(2) == 6  # tracks present in the first 10 / 20 frames (>= 2 frames)
    assert all(Path(m["thumbnail"]).is_absolute() and Path(m["thumbnail"]).is_file() for m in index.meta)
    record = index.info["same_person"]
    # every track of cam1 (6 tracks in frames 1-10) overlaps the others: 15 pairs, and 15 more in cam2; the tracks of
    # at least 4 frames give a same-person pair each
    assert record["different_pairs"] == 30 and record["same_pairs"] == sum(m["num_frames"] >= 4 for m in index.meta)
    assert record["threshold"] is not None and 0.0 <= record["balanced_error"] <= 0.5

    # the stored features are the evaluation's whole-sequence features of the same tracklets
    tracklets = read_tracklet_dir(tmp_path / "cam1")[0] + read_tracklet_dir(tmp_path / "cam2")[0]
    feats = embed_tracklets(model, tracklets, tiny_config("m3d_resnet50").data, chunk_size=16)
    np.testing.assert_allclose(index.features, feats, rtol=1e-5, atol=1e-5)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    query = tmp_path / "cam2" / "bbox" / "0003"
    own = index.find(tmp_path / "cam2", 3)
    distmat = pairwise_distance(feats[[own]], index.features).numpy()[0]
    order = np.argsort(distmat, kind="stable")
    k = 5

    def search(*extra: str) -> list[dict]:
        args = ["search", str(query), "--index", str(tmp_path / "idx"), "-k", str(k), "--overwrite",
                "--image", str(tmp_path / "ranked.jpg"), "--json", str(tmp_path / "r.json"), *extra]  # fmt: skip
        assert main(args) == 0
        return json.loads((tmp_path / "r.json").read_text())["results"]

    results = search()  # own track left out by default
    assert [r["gallery_index"] for r in results] == [i for i in order if i != own][:k]
    assert all(r["same_person"] == (r["distance"] <= record["threshold"]) for r in results)
    out, err = capsys.readouterr()
    assert "cam 2" in out and "thumbnails are missing" not in err
    image = cv2.imread(str(tmp_path / "ranked.jpg"))
    assert image.shape[1] == (k + 1) * (64 + 4) + k * 4 and image.shape[0] > 128

    results = search("--include-self")
    assert (results[0]["camid"], results[0]["track_id"]) == (2, 3) and results[0]["distance"] < 1e-6
    results = search("--cameras", "1")
    assert [r["gallery_index"] for r in results] == [i for i in order if index.meta[i]["camid"] == 1][:k]
    assert search("--other-cameras") == results  # the query is in camera 2
    assert main(["search", str(query), "--index", str(tmp_path / "idx"), "--cameras", "x"]) == 2
    assert "--cameras 'x'" in capsys.readouterr().err


def test_search_command_errors(tmp_path, capsys):
    assert main(["search", str(tmp_path), "--index", str(tmp_path / "none")]) == 2
    assert "not a gallery index" in capsys.readouterr().err
    torch.manual_seed(0)  # keep the suite's RNG state independent of test order
