"""Feature files: dataset extraction, atomic save / load round trip, clear errors, and evaluation from the file."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
import torch
from torch import nn

from m3dreid.evaluation.evaluate import evaluate_features
from m3dreid.evaluation.features import FeatureSet, features_from_dataset, load_features, sample_paths, save_features
from m3dreid.evaluation.rank import evaluate_rankings
from m3dreid.models.base import VideoReIDModel


class Track(NamedTuple):
    frames: tuple[str, ...]
    pid: int
    camid: int


class MeanColour(VideoReIDModel):
    """Frame feature = mean colour; aggregate = temporal mean: enough to tell the fake identities apart."""

    feature_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))

    def frame_features(self, clip: torch.Tensor) -> torch.Tensor:
        return clip.mean(dim=(3, 4)) * self.scale  # (B, T, 3)

    def aggregate(self, frame_feats: torch.Tensor) -> torch.Tensor:
        return frame_feats.mean(dim=1)  # (B, 3)


def _dataset():
    colours = {1: (1.0, 0.0, 0.0), 2: (0.0, 1.0, 0.0), 3: (0.0, 0.0, 1.0)}

    def track(pid, cam, n):
        return Track(tuple(f"/data/p{pid}/c{cam}/f{i:04d}.jpg" for i in range(n)), pid, cam)

    query = [track(1, 0, 5), track(2, 0, 3)]
    gallery = [track(2, 1, 4), track(1, 1, 12), track(3, 1, 2), track(-1, 1, 2), track(1, 0, 6)]

    def load_frames(t, indices):
        base = torch.tensor(colours.get(t.pid, (0.5, 0.5, 0.5)))[:, None, None]
        return base.expand(len(indices), 3, 8, 4) + 0.01 * t.camid  # (n, 3, 8, 4)

    ds = type("DS", (), {"query": query, "gallery": gallery, "junk_pids": frozenset({-1})})()
    ds.ap_definition, ds.name, ds.protocol = "mars_kit", "fake", "official"
    return ds, load_frames


def test_sample_paths_even_spacing_and_padding():
    assert sample_paths(["a", "b", "c", "d", "e"], 3) == ["a", "c", "e"]
    assert sample_paths(["a", "b"], 4) == ["a", "b", "", ""]
    assert sample_paths([], 2) == ["", ""]


def test_features_from_dataset_round_trip_and_evaluation(tmp_path):
    ds, load_frames = _dataset()
    fs = features_from_dataset(
        MeanColour(), ds, load_frames_fn=load_frames, chunk_size=4, num_paths=3, meta={"model": "mean_colour"}
    )
    assert fs.q_feats.shape == (2, 3) and fs.g_feats.shape == (5, 3)
    np.testing.assert_array_equal(fs.g_pids, [2, 1, 3, -1, 1])
    np.testing.assert_array_equal(fs.q_lengths, [5, 3])
    assert fs.q_paths.shape == (2, 3) and fs.q_paths[0, 2] == "/data/p1/c0/f0004.jpg"
    assert fs.junk_pids == (-1,) and fs.ap_definition == "mars_kit"

    path = save_features(fs, tmp_path / "run" / "features.npz")
    assert not list(path.parent.glob("*.tmp"))
    back = load_features(path)
    for name in ("q_feats", "g_feats", "q_pids", "g_pids", "q_camids", "g_camids", "q_paths", "g_paths"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fs, name))
    assert back.meta == {"dataset": "fake", "protocol": "official", "model": "mean_colour"}
    assert back.junk_pids == (-1,) and back.ap_definition == "mars_kit"

    # query 1 (pid 1, cam 0): its same-camera twin is junk; the cam-1 tracklet is at rank 1 -> perfect
    result = evaluate_features(back, device="cpu")
    assert result.num_no_match == 0 and result.mAP == pytest.approx(1.0) and result.rank(1) == 1.0
    reranked = evaluate_features(back, rerank=True, k1=2, k2=1, device="cpu")
    assert reranked.num_queries == 2


def test_evaluate_features_matches_direct_ranking_and_flags_no_match():
    rng = np.random.default_rng(0)
    fs = FeatureSet(
        q_feats=rng.normal(size=(6, 4)).astype(np.float32),
        g_feats=rng.normal(size=(20, 4)).astype(np.float32),
        q_pids=np.arange(6),
        g_pids=rng.integers(0, 6, 20),
        q_camids=np.zeros(6, np.int64),
        g_camids=rng.integers(0, 2, 20),
        q_lengths=np.ones(6, np.int64),
        g_lengths=np.ones(20, np.int64),
        q_paths=np.full((6, 1), ""),
        g_paths=np.full((20, 1), ""),
    )
    dist = ((fs.q_feats[:, None] - fs.g_feats[None]) ** 2).sum(-1)
    direct = evaluate_rankings(dist, fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids)
    got = evaluate_features(fs, device="cpu")
    assert got.mAP == pytest.approx(direct.mAP, abs=1e-6)
    assert got.num_no_match == direct.num_no_match


def test_load_features_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_features(tmp_path / "missing.npz")
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="truncated.npz"):
        load_features(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz: not an m3dreid feature file, missing q_feats"):
        load_features(other)
