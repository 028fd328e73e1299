"""Search that a person can use: own track left out, camera filter, the same-person threshold, representative
crops, the contact sheet and quiet faiss logging."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from m3dreid.data.base import Tracklet
from m3dreid.index import GalleryIndex, contact_sheet, estimate_threshold, representative_frame, same_person_record
from m3dreid.index.threshold import different_people_pairs, split_halves


def _index(threshold=None):
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((12, 6)).astype(np.float32)
    meta = [{"camid": 1 + i % 3, "track_id": i, "source": "/s"} for i in range(12)]
    info = {"same_person": {"threshold": threshold}} if threshold is not None else {}
    return GalleryIndex.build(feats, meta, info=info), feats


def test_rank_leaves_out_self_and_other_cameras():
    index, feats = _index(threshold=5.0)
    dist = ((feats - feats[4]) ** 2).sum(axis=1)
    order = np.argsort(dist, kind="stable")
    hits = index.search_entry(4, 5)
    assert [h.gallery_index for h in hits] == [i for i in order if i != 4][:5]
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([h.distance for h in hits], dist[[h.gallery_index for h in hits]], rtol=1e-5)
    assert [h.same_person for h in hits] == [bool(dist[h.gallery_index] <= 5.0) for h in hits]
    assert index.search_entry(4, 3, include_self=True)[0].gallery_index == 4
    cam3 = index.search_entry(4, 10, cameras={3})  # camera 3 holds tracks 2, 5, 8, 11: only 4 hits
    assert [h.gallery_index for h in cam3] == [i for i in order if i % 3 == 2]
    assert index.rank(feats[0], 5, exclude=range(12)) == []
    assert _index()[0].search_entry(0, 2)[0].same_person is None  # no threshold: no cue


def test_find_and_pair_distance(tmp_path):
    index, feats = _index()
    index.meta[7]["source"] = str(tmp_path.resolve())
    assert index.find(tmp_path, 7) == 7 and index.find(tmp_path, 8) is None
    np.testing.assert_allclose(index.pair_distance(feats[:3], feats[3:6]), ((feats[:3] - feats[3:6]) ** 2).sum(1),
                               rtol=1e-5)  # fmt: skip
    cos = GalleryIndex.build(feats, index.meta, metric="cosine")
    a, b = feats[:1] / np.linalg.norm(feats[:1]), feats[1:2] / np.linalg.norm(feats[1:2])
    np.testing.assert_allclose(cos.pair_distance(feats[:1], feats[1:2]), 1 - (a * b).sum(), rtol=1e-5)


def test_threshold_hand_worked():
    assert estimate_threshold([1.0, 2.0], [4.0, 5.0]) == (3.0, 0.0)
    # one same pair (3.5) lies among the different ones: the best cut keeps it out, error (1/3 + 0) / 2
    threshold, error = estimate_threshold([1.0, 2.0, 3.5], [3.0, 4.0, 5.0])
    assert threshold == 2.5 and error == pytest.approx(1 / 6)
    with pytest.raises(ValueError):
        estimate_threshold([], [1.0])


def test_pairs_from_the_footage_itself():
    meta = [
        {"source": "a", "first_frame": 1, "last_frame": 10},
        {"source": "a", "first_frame": 10, "last_frame": 20},
        {"source": "a", "first_frame": 21, "last_frame": 30},
        {"source": "b", "first_frame": 1, "last_frame": 30},
    ]
    assert different_people_pairs(meta) == [(0, 1)]  # frame 10 shared; b is another video
    tracklets = [Tracklet(tuple(f"{i}" for i in range(n)), 1, 0) for n in (3, 4, 7)]
    halves, used = split_halves(tracklets)
    assert used == [1, 2] and [len(h.frames) for h in halves] == [2, 2, 3, 4]
    assert halves[3].frames == ("3", "4", "5", "6")

    feats = np.array([[0.0], [10.0], [20.0], [30.0]], np.float32)
    embed = lambda ts: np.array([[float(t.frames[0])] for t in ts], np.float32)  # noqa: E731
    record = same_person_record(tracklets, meta[:3], feats[:3], embed=embed,
                                distance=lambda a, b: ((a - b) ** 2).sum(1))  # fmt: skip
    # same pairs: halves start at 0 / 2 (d=4) and 0 / 3 (d=9); different pair: tracks 0, 1 (d=100)
    assert (record["same_pairs"], record["different_pairs"]) == (2, 1)
    assert record["threshold"] == pytest.approx(54.5) and record["balanced_error"] == 0.0
    lonely = same_person_record(tracklets, [meta[0], meta[2], meta[3]], feats[:3], embed=embed, distance=None)
    assert lonely["threshold"] is None and "same frames" in lonely["reason"]


def test_representative_frame_skips_the_odd_crop(tmp_path):
    paths = []
    for i in range(7):
        crop = np.zeros((64, 32, 3), np.uint8)
        crop[:32] = (0, 0, 200)  # red shirt (BGR)
        crop[32:] = (200, 0, 0)  # blue trousers
        if i == 3:  # the middle crop: someone in green walks in front
            crop[:, :] = (0, 200, 0)
        paths.append(str(tmp_path / f"{i}.jpg"))
        cv2.imwrite(paths[-1], crop)
    assert representative_frame(paths) != paths[3]
    assert representative_frame(paths, frame_features=lambda ps: np.array([[float(p[-5])] for p in ps])) == paths[3]


def test_contact_sheet_layout(tmp_path):
    crop = str(tmp_path / "c.jpg")
    cv2.imwrite(crop, np.full((64, 32, 3), 90, np.uint8))
    sheet = contact_sheet({i: [crop] for i in range(1, 6)}, tmp_path / "sheet.jpg", height=40, width=20, per_row=3)
    image = cv2.imread(str(sheet))
    tile_w = 20 + 2  # 1 px frame each side
    assert image.shape[1] == 3 * tile_w + 2 * 4 and image.shape[0] == 2 * (42 + 32) + 4


def test_faiss_import_is_quiet():
    code = "import logging; logging.basicConfig(level=logging.INFO); import m3dreid.index"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Could not load library" not in result.stderr + result.stdout


def test_histogram_index_needs_no_model(tmp_path, capsys):
    from pathlib import Path

    from m3dreid.cli import main

    seq = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"
    for cam in (1, 2):
        assert main(["tracklets", str(seq / "TUD-Campus.mp4"), "--out", str(tmp_path / f"c{cam}"), "--detections",
                     str(seq / "gt" / "gt.txt"), "--camid", str(cam), "--max-frames", "12", "--height", "64",
                     "--width", "32", "--no-progress", "--no-sheet"]) == 0  # fmt: skip
    assert main(["index", str(tmp_path / "c1"), str(tmp_path / "c2"), "--model", "color_histogram",
                 "--out", str(tmp_path / "idx"), "--no-progress"]) == 0  # fmt: skip
    index = GalleryIndex.load(tmp_path / "idx")
    assert index.info["embedder"]["kind"] == "color_histogram" and index.same_person_threshold is not None
    capsys.readouterr()
    assert main(["search", str(tmp_path / "c1" / "bbox" / "0002"), "--index", str(tmp_path / "idx"), "-k", "3",
                 "--other-cameras", "--json", str(tmp_path / "r.json")]) == 0  # fmt: skip
    import json

    results = json.loads((tmp_path / "r.json").read_text())["results"]
    # the same track cut from the same frames under camera 2: identical crops, distance 0, the same person
    assert (results[0]["camid"], results[0]["track_id"], results[0]["same_person"]) == (2, 2, True)
    assert results[0]["distance"] < 1e-6 and all(r["camid"] == 2 for r in results)
