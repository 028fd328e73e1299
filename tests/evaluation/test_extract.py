"""Chunked whole-tracklet features equal one-pass features, for a temporal-conv model defined here and M3D-ResNet50."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from m3dreid.evaluation.extract import chunk_windows, extract_features, extract_tracklet
from m3dreid.models.base import VideoReIDModel


class TinyTemporalNet(VideoReIDModel):
    """2D convs per frame with two zero-padded temporal convs (reach 1 and 2) in between: temporal_radius = 3."""

    def __init__(self, *, width: int = 8, declared_radius: int = 3) -> None:
        super().__init__()
        self.temporal_radius = declared_radius
        self.feature_dim = 2 * width
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.t1 = nn.Conv3d(width, width, (3, 1, 1), padding=(1, 0, 0))
        self.mid = nn.Sequential(nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU())
        self.t2 = nn.Conv3d(width, width, (3, 1, 1), padding=(2, 0, 0), dilation=(2, 1, 1))
        self.head = nn.Linear(width, 2 * width)

    def _temporal(self, conv: nn.Module, x: torch.Tensor, b: int, t: int) -> torch.Tensor:
        n, c, h, w = x.shape
        y = x.view(b, t, c, h, w).permute(0, 2, 1, 3, 4)  # (B, C, T, H, W)
        y = y + conv(y)  # residual temporal conv
        return y.permute(0, 2, 1, 3, 4).reshape(n, c, h, w)  # (B*T, C, H, W)

    def frame_features(self, clip: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = clip.shape
        x = self.stem(clip.reshape(b * t, c, h, w))  # (B*T, C', H', W')
        x = self.mid(self._temporal(self.t1, x, b, t))
        x = self._temporal(self.t2, x, b, t)
        return x.mean(dim=(2, 3)).view(b, t, -1)  # (B, T, d)

    def aggregate(self, frame_feats: torch.Tensor) -> torch.Tensor:
        return self.head(frame_feats.mean(dim=1))  # (B, D)


def _model(**kwargs) -> TinyTemporalNet:
    torch.manual_seed(0)
    model = TinyTemporalNet(**kwargs)
    for m in model.modules():  # non-trivial BN statistics, as after training
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_chunk_windows_cover_every_frame_once():
    windows = chunk_windows(97, 16, 3)
    assert len(windows) == 7
    assert windows[0] == (0, 19, 0, 16)
    assert windows[1] == (13, 35, 3, 19)
    assert windows[-1] == (93, 97, 3, 4)
    kept = np.concatenate([np.arange(ws + ks, ws + ke) for ws, _, ks, ke in windows])
    np.testing.assert_array_equal(kept, np.arange(97))


def test_chunked_equals_one_pass_97_frames_chunk_16():
    model = _model()
    torch.manual_seed(1)
    frames = torch.randn(97, 3, 64, 32)  # (T, C, H, W)
    with torch.no_grad():
        one_pass = model(frames[None])[0]  # (D,)
    chunked = extract_tracklet(model, frames, chunk_size=16)
    assert chunked.shape == (16,)
    torch.testing.assert_close(chunked, one_pass, atol=1e-5, rtol=0)
    # a model that under-declares its radius is wrong at chunk borders: the halo is what makes chunking exact
    wrong = extract_tracklet(_model(declared_radius=1), frames, chunk_size=16)
    assert (wrong - one_pass).abs().max() > 1e-4


def test_flip_is_the_mean_of_both_views_and_loader_slices_are_bounded():
    model = _model()
    torch.manual_seed(2)
    frames = torch.randn(40, 3, 64, 32)
    with torch.no_grad():
        expected = (model(frames[None])[0] + model(frames.flip(-1)[None])[0]) / 2
    calls = []

    def load_frames(tracklet, indices):
        calls.append(len(indices))
        return frames[torch.as_tensor(indices)]

    tracklet = type("T", (), {"frames": tuple(f"f{i:03d}.jpg" for i in range(40))})()
    got = extract_tracklet(model, tracklet, load_frames_fn=load_frames, chunk_size=8, flip=True)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert max(calls) == 8 + 2 * 3 and sum(calls) < 40 + 2 * 3 * len(calls) + 1


def test_extract_features_of_a_dataset_query_then_gallery():
    model = _model().train()
    torch.manual_seed(3)
    clips = {name: torch.randn(n, 3, 64, 32) for name, n in (("a", 5), ("b", 23), ("c", 1))}
    dataset = type("D", (), {"query": ["a"], "gallery": ["b", "c"]})()
    feats = extract_features(model, dataset, load_fn=clips.__getitem__, chunk_size=4, device="cpu")
    assert feats.shape == (3, 16) and feats.dtype == torch.float32
    assert model.training  # restored
    model.eval()
    with torch.no_grad():
        for row, name in zip(feats, ["a", "b", "c"], strict=True):
            torch.testing.assert_close(row, model(clips[name][None])[0], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="loader returned 2 frames, expected 4"):
        bad = type("T", (), {"frames": ("x0", "x1", "x2", "x3")})()
        extract_tracklet(model, bad, load_fn=lambda t: torch.zeros(2, 3, 8, 8))


def test_m3d_resnet50_chunked_equals_one_pass():
    from m3dreid import list_models

    if "m3d_resnet50" not in list_models():
        pytest.skip("m3d_resnet50 is not registered yet")
    from m3dreid import create_model

    torch.manual_seed(0)
    model = create_model("m3d_resnet50", num_classes=0, base_channels=4).eval()
    assert model.temporal_radius > 0
    with torch.no_grad():  # M3D layers start at zero (= the 2D network): give them weights, as after training
        zero_kernels = [p for p in model.parameters() if p.dim() > 1 and p.abs().max() == 0]
        for param in zero_kernels:
            param.normal_(0.0, 0.05)
    assert zero_kernels
    frames = torch.randn(97, 3, 64, 32)
    with torch.no_grad():
        one_pass = model(frames[None])[0]
    chunked = extract_tracklet(model, frames, chunk_size=16)
    torch.testing.assert_close(chunked, one_pass, atol=1e-5, rtol=0)
