"""Embedding providers: fusion is the weighted sum of the parts' distances, records rebuild the same provider,
and `index --model appearance` / `search` rank with the descriptor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from m3dreid.cli import main
from m3dreid.index import GalleryIndex, read_tracklet_dir
from m3dreid.index.embedders import (
    AppearanceEmbedder,
    ColorHistogramEmbedder,
    FusionEmbedder,
    embedder_from_record,
    fuse,
    load_embedder,
)

SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"


def test_fused_squared_distance_is_the_weighted_sum_of_unit_vector_distances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 6)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32) * 50
    fused = fuse([a, b], [0.3, 0.7])
    ua, ub = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in (a, b))
    expected = 0.3 * ((ua[0] - ua[1]) ** 2).sum() + 0.7 * ((ub[0] - ub[1]) ** 2).sum()
    assert abs(((fused[0] - fused[1]) ** 2).sum() - expected) < 1e-5
    with pytest.raises(ValueError, match="weights"):
        FusionEmbedder([AppearanceEmbedder(), ColorHistogramEmbedder()], [-1.0, 1.0])


def test_records_rebuild_the_provider_and_bad_specs_name_the_file(tmp_path):
    fusion = FusionEmbedder([AppearanceEmbedder(), ColorHistogramEmbedder()], [0.4, 0.6])
    back = embedder_from_record(json.loads(json.dumps(fusion.describe())))
    assert isinstance(back, FusionEmbedder) and back.weights == [0.4, 0.6]
    assert [p.name for p in back.parts] == ["appearance", "color_histogram"]
    with pytest.raises(FileNotFoundError, match="nope.pt: no such checkpoint"):
        load_embedder(str(tmp_path / "nope.pt"))


def test_index_and_search_with_the_appearance_descriptor(tmp_path, capsys):
    video, gt = str(SEQ / "TUD-Campus.mp4"), str(SEQ / "gt" / "gt.txt")
    assert main(["tracklets", video, "--out", str(tmp_path / "cam1"), "--detections", gt, "--max-frames", "12",
                 "--height", "64", "--width", "32", "--no-progress"]) == 0  # fmt: skip
    assert main(["index", str(tmp_path / "cam1"), "--model", "appearance", "--out", str(tmp_path / "idx"),
                 "--no-progress"]) == 0  # fmt: skip
    index = GalleryIndex.load(tmp_path / "idx")
    assert index.info["embedder"] == {"kind": "appearance"}
    tracklets = read_tracklet_dir(tmp_path / "cam1", min_length=2)[0]
    np.testing.assert_allclose(index.features, AppearanceEmbedder().embed(tracklets), atol=1e-6)
    query = tmp_path / "cam1" / "bbox" / "0002"
    assert main(["search", str(query), "--index", str(tmp_path / "idx"), "-k", "3", "--include-self", "--json",
                 str(tmp_path / "r.json"), "--image", str(tmp_path / "r.jpg")]) == 0  # fmt: skip
    top = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert top["track_id"] == 2 and top["distance"] < 1e-6  # the query's own tracklet, rebuilt the same way
