"""A dataset is one registration: a toy reader registered here shows up in `experiment --help`, `eval --help`, and
`eval` runs on it with a model saved by the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import m3dreid.data  # noqa: F401  (the built-in readers)
from m3dreid.api import Embedder
from m3dreid.cli import main
from m3dreid.config import Config, DataConfig, ModelConfig
from m3dreid.data.base import Tracklet, VideoDataset, image_files
from m3dreid.models.build import build_model
from m3dreid.registry import DATASETS

pytestmark = pytest.mark.usefixtures("one_thread")


def _toy(root) -> VideoDataset:
    """Two cameras, three people, one tracklet each; query = camera 0, gallery = camera 1."""
    root, tracklets = Path(root), []
    for pid in range(3):
        for cam in range(2):
            folder = root / f"p{pid}_c{cam}"
            if not folder.is_dir():
                folder.mkdir(parents=True)
                for f in range(4):
                    cv2.imwrite(str(folder / f"f{f}.png"), np.full((32, 16, 3), 40 * pid + 5 * f + cam, np.uint8))
            tracklets.append(Tracklet(image_files(folder), pid, cam))
    query = [t for t in tracklets if t.camid == 0]
    gallery = [t for t in tracklets if t.camid == 1]
    return VideoDataset(name="toy_reid", train=[], query=query, gallery=gallery, train_pids_original=(), root=str(root))


@pytest.fixture
def toy_dataset():
    DATASETS.register("toy_reid", title="Toy")(lambda *, root: _toy(root))  # the one registration
    yield "toy_reid"
    DATASETS.unregister("toy_reid")


def test_toy_dataset_in_help_and_eval(toy_dataset, tmp_path, capsys):
    for command in ("experiment", "eval"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "toy_reid" in capsys.readouterr().out
    torch.manual_seed(0)
    config = Config(model=ModelConfig(name="resnet18_2d", embed_dim=8, kwargs={"base_channels": 4}),
                    data=DataConfig(height=32, width=16))  # fmt: skip
    weights = Embedder(build_model(config, num_classes=0), config, device="cpu").save_pretrained(tmp_path / "model")
    sets = [f"data.root={tmp_path / 'data'}", "data.height=32", "data.width=16"]
    argv = ["eval", "--dataset", toy_dataset, *(a for s in sets for a in ("--set", s)), "--checkpoint", str(weights),
            "--out", str(tmp_path / "run"), "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "toy_reid" in json.dumps(results) and (tmp_path / "run" / "features.npz").is_file()
