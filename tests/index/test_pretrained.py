"""The networks shipped in the package: plain weights files (weights_only), marked synthetic-only, and what `index`
uses (fused with the appearance descriptor) when --model is omitted, with the synthetic-data warning."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from m3dreid.cli import main
from m3dreid.index import GalleryIndex
from m3dreid.index.embedders import DEFAULT_FUSION_WEIGHT, NetworkEmbedder
from m3dreid.pretrained import PRETRAINED, pretrained_path

SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_shipped_checkpoint_is_small_plain_and_synthetic_only(name):
    path = pretrained_path(name)
    assert path.stat().st_size < 8e6
    obj = torch.load(path, map_location="cpu", weights_only=True)
    assert set(obj) == {"model", "config", "meta"} and obj["meta"]["training_data"] == "synthetic"
    assert not any(k.startswith("classifier.") for k in obj["model"])
    embedder = NetworkEmbedder(path)
    assert embedder.synthetic_only and embedder.config.data.height == 64
    with pytest.raises(FileNotFoundError, match="no such shipped model"):
        pretrained_path("resnet50")


def test_index_without_model_uses_the_shipped_fusion_and_warns(tmp_path, capsys):
    video, gt = str(SEQ / "TUD-Campus.mp4"), str(SEQ / "gt" / "gt.txt")
    assert main(["tracklets", video, "--out", str(tmp_path / "cam1"), "--detections", gt, "--max-frames", "6",
                 "--height", "64", "--width", "32", "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["index", str(tmp_path / "cam1"), "--out", str(tmp_path / "idx"), "--no-progress",
                 "--no-threshold"]) == 0  # fmt: skip
    assert "trained on synthetic data only" in capsys.readouterr().err
    record = GalleryIndex.load(tmp_path / "idx").info["embedder"]
    assert record["kind"] == "fusion" and record["weights"] == [1 - DEFAULT_FUSION_WEIGHT, DEFAULT_FUSION_WEIGHT]
    assert [p["kind"] for p in record["parts"]] == ["network", "appearance"]
    assert record["parts"][0]["model"] == "pretrained-2d"
