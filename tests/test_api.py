"""The Python API: m3dreid.load -> Embedder, features equal to the evaluation path, save/from_pretrained, sha256."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import m3dreid
from m3dreid.api import PRETRAINED, Embedder, register_pretrained, sha256_of
from m3dreid.config import Config, DataConfig, ModelConfig
from m3dreid.data.base import Tracklet
from m3dreid.data.loader import load_frames
from m3dreid.evaluation.extract import extract_features
from m3dreid.models.build import build_model
from m3dreid.weights import CheckpointError

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG = Config(
    model=ModelConfig(name="m3d_resnet18", embed_dim=16, kwargs={"base_channels": 4}),
    data=DataConfig(height=32, width=16),
)


@pytest.fixture(scope="module")
def embedder():
    torch.manual_seed(0)
    model = build_model(CONFIG, num_classes=3)
    with torch.no_grad():  # move the BN statistics off their defaults so that a wrong load shows
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0, 0.1)
    return Embedder(model.eval(), CONFIG, device="cpu")


def _crops(folder, frames: int = 11, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(frames, 32, 16, 3), dtype=np.uint8)  # RGB
    folder.mkdir(parents=True)
    order = rng.permutation(frames)  # written out of order; f10 must come after f9
    for i in order:
        cv2.imwrite(str(folder / f"c1_f{i}.png"), cv2.cvtColor(images[i], cv2.COLOR_RGB2BGR))  # lossless
    return images


def test_embed_equals_the_evaluation_path(embedder, tmp_path):
    images = _crops(tmp_path / "a")
    paths = [str(tmp_path / "a" / f"c1_f{i}.png") for i in range(len(images))]
    expected = extract_features(
        embedder.model, [Tracklet(tuple(paths), 0, 0)], chunk_size=64, device="cpu",
        load_frames_fn=lambda t, idx: load_frames(t, CONFIG.data, idx),
    )[0].numpy()  # fmt: skip
    by_folder = embedder.embed_tracklet(tmp_path / "a")
    assert by_folder.shape == (16,) and by_folder.dtype == np.float32
    np.testing.assert_array_equal(by_folder, expected)
    np.testing.assert_array_equal(embedder.embed(paths), expected)
    np.testing.assert_array_equal(embedder.embed(images), expected)  # the same frames in memory
    _crops(tmp_path / "b", frames=5, seed=1)
    both = embedder.embed_dirs([tmp_path / "a", tmp_path / "b"])
    assert both.shape == (2, 16)
    np.testing.assert_array_equal(both[0], expected)
    assert not np.allclose(both[1], expected)


def test_save_and_load_pretrained_round_trip(embedder, tmp_path):
    path = embedder.save_pretrained(tmp_path / "pre")
    assert (tmp_path / "pre" / "config.yaml").is_file()
    clip = np.random.default_rng(2).integers(0, 256, size=(6, 32, 16, 3), dtype=np.uint8)
    again = m3dreid.load(tmp_path / "pre", device="cpu")
    assert again.model_name == "m3d_resnet18" and again.feature_dim == 16
    np.testing.assert_array_equal(again.embed(clip), embedder.embed(clip))
    digest = sha256_of(path)
    assert m3dreid.from_pretrained(tmp_path / "pre", sha256=digest).feature_dim == 16
    with pytest.raises(CheckpointError, match="sha256 .* does not match the expected 00ff"):
        m3dreid.load(path, sha256="00ff")
    with pytest.raises(CheckpointError, match="nor a packaged model"):
        m3dreid.load("no_such_model")


def test_a_packaged_name_resolves(embedder, tmp_path, monkeypatch):
    embedder.save_pretrained(tmp_path / "shipped")
    monkeypatch.setattr("m3dreid.api.PRETRAINED", dict(PRETRAINED))  # leave the real table as it was
    register_pretrained("toy_m3d", folder=str(tmp_path / "shipped"), sha256=sha256_of(tmp_path / "shipped/model.pt"))
    clip = np.random.default_rng(3).integers(0, 256, size=(4, 32, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(m3dreid.load("toy_m3d", device="cpu").embed(clip), embedder.embed(clip))
    with pytest.raises(KeyError, match="registered twice"):
        register_pretrained("toy_m3d", folder="x")
