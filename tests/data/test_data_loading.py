"""P x K sampling, training clips, test tracklets, transforms and the optical-flow cache."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest
import torch

from m3dreid.config import DataConfig
from m3dreid.data import (
    PKBatchSampler,
    Tracklet,
    TrackletDataset,
    VideoDataset,
    build_train_loader,
    load_tracklet,
)
from m3dreid.data import flow as flow_module
from m3dreid.data.flow import FLOW_SCALE, tracklet_flow
from m3dreid.data.loader import clip_indices, load_frames
from m3dreid.data.transforms import hflip_clip, random_erase

CFG = DataConfig(height=16, width=8, seq_len=4, ids_per_batch=3, tracklets_per_id=2, workers=0, hflip=0.5)


def _frames(folder: Path, n: int, value_of=lambda i: i * 10) -> tuple[str, ...]:
    """``n`` 16x8 frames whose pixels all equal ``value_of(i)`` (frame i readable back from any pixel)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"f{i:03d}.png"
        cv2.imwrite(str(path), np.full((16, 8, 3), value_of(i), np.uint8))
        out.append(str(path))
    return tuple(out)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> VideoDataset:
    root = tmp_path_factory.mktemp("clips")
    train = []
    for pid in range(5):
        for k in range(3 if pid != 4 else 1):  # pid 4 has a single tracklet: sampled with replacement
            n = 3 if (pid, k) == (0, 0) else 9  # one tracklet shorter than seq_len
            train.append(Tracklet(_frames(root / f"{pid}_{k}", n), pid, k % 2))
    return VideoDataset(name="toy", train=train, query=[], gallery=[], train_pids_original=tuple(range(5)))


def test_pk_batches_structure_determinism_and_replacement(dataset):
    pids = [t.pid for t in dataset.train]
    sampler = PKBatchSampler(pids, ids_per_batch=2, tracklets_per_id=2, seed=7)
    first = list(sampler)
    assert len(first) == len(sampler) == 2  # 5 ids // P=2
    for batch in first:
        counts = Counter(pids[i] for i, _ in batch)
        assert len(counts) == 2 and set(counts.values()) == {2}
        for pid in counts:
            picked = [i for i, _ in batch if pids[i] == pid]
            assert len(set(picked)) == (1 if pid == 4 else 2)  # without replacement when the id has >= K
    second = list(sampler)  # next epoch: reshuffled
    assert first != second
    again = PKBatchSampler(pids, ids_per_batch=2, tracklets_per_id=2, seed=7)
    assert list(again) == first and list(again) == second
    other = PKBatchSampler(pids, ids_per_batch=2, tracklets_per_id=2, seed=8)
    assert list(other) != first
    sampler.set_epoch(0)
    assert list(sampler) == first
    longer = PKBatchSampler(pids, ids_per_batch=2, tracklets_per_id=2, seed=7, num_batches=7)
    assert len(list(longer)) == 7


def test_pk_ranks_get_disjoint_batches_covering_the_single_process_epoch():
    pids = [p for p in range(40) for _ in range(3)]
    whole = PKBatchSampler(pids, ids_per_batch=4, tracklets_per_id=2, seed=3)
    ranks = [PKBatchSampler(pids, ids_per_batch=4, tracklets_per_id=2, seed=3, rank=r, world_size=3) for r in range(3)]
    per_rank = [list(s) for s in ranks]
    assert [len(b) for b in per_rank] == [3, 3, 3]  # 10 global batches -> 3 each, the 10th dropped
    flat = [tuple(b) for batches in per_rank for b in batches]
    assert len(set(flat)) == 9
    assert set(flat) <= {tuple(b) for b in whole}
    seeds = [s for b in flat for _, s in b]
    assert len(set(seeds)) == len(seeds)  # every sample gets its own augmentation seed


def test_clip_indices_loop_short_tracklets():
    assert clip_indices(5, 8, 3).tolist() == [3, 4, 0, 1, 2, 3, 4, 0]
    assert clip_indices(10, 4, 6).tolist() == [6, 7, 8, 9]


def test_train_loader_shapes_consecutive_frames_and_worker_independence(dataset):
    cfg = dataclasses.replace(CFG, random_erasing=0.0, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    batches = list(build_train_loader(dataset, cfg, seed=1))
    assert len(batches) == 1  # 5 ids // P=3
    clips, pids, camids = batches[0]
    assert clips.shape == (6, 4, 3, 16, 8) and clips.dtype == torch.float32
    assert pids.dtype == torch.long and camids.dtype == torch.long and pids.shape == (6,)
    values = torch.round(clips[:, :, 0, 0, 0] * 255 / 10).long()  # (B, T) frame index of each clip frame
    for row, pid in zip(values.tolist(), pids.tolist(), strict=True):
        steps = {b - a for a, b in zip(row, row[1:], strict=False)}
        assert steps == {1} or (pid == 0 and steps <= {1, -2})  # consecutive; the 3-frame tracklet loops
    with_workers = dataclasses.replace(cfg, workers=2)
    clips2, pids2, _ = next(iter(build_train_loader(dataset, with_workers, seed=1)))
    assert torch.equal(clips, clips2) and torch.equal(pids, pids2)


def test_transforms_normalise_flip_and_erase(tmp_path):
    frames = _frames(tmp_path / "t", 2, value_of=lambda i: 51)
    img = cv2.imread(frames[0])
    img[:, :4] = 255  # left half white
    cv2.imwrite(frames[0], img)
    x = load_tracklet(Tracklet(frames, 0, 0), CFG)
    assert x.shape == (2, 3, 16, 8)
    expected = (51 / 255 - np.array(CFG.mean)) / np.array(CFG.std)
    np.testing.assert_allclose(x[1, :, 0, 0].numpy(), expected, rtol=1e-5)
    white = (1 - np.array(CFG.mean)) / np.array(CFG.std)
    np.testing.assert_allclose(x[0, :, 0, 0].numpy(), white, rtol=1e-5)
    flipped = hflip_clip(x.clone())
    np.testing.assert_allclose(flipped[0, :, 0, -1].numpy(), white, rtol=1e-5)
    big = dataclasses.replace(CFG, height=32, width=16)
    assert load_tracklet(Tracklet(frames, 0, 0), big).shape == (2, 3, 32, 16)
    erased = random_erase(torch.ones(3, 5, 16, 8), np.random.default_rng(0))  # (T, C, H, W)
    zero = erased == 0
    assert 0.02 * 128 <= zero[0, 0].sum() <= 0.4 * 128 + 8  # one box of 2-40 % of the frame ...
    assert torch.equal(zero, zero[:1, :1].expand_as(zero))  # ... the same in every frame and channel
    items = TrackletDataset([Tracklet(frames, 3, 1)], CFG)
    clip, pid, camid = items[0]
    assert clip.shape == (2, 3, 16, 8) and (pid, camid) == (3, 1)


def test_flow_channels_are_cached_and_flip_negates_dx(tmp_path):
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (64, 96)).astype(np.float32), (0, 0), 2.0)
    folder = tmp_path / "moving"
    folder.mkdir()
    frames = []
    for i in range(4):  # the texture moves right by 2 px a frame
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), np.repeat(texture[:, 16 - 2 * i : 48 - 2 * i, None], 3, axis=2).astype(np.uint8))
        frames.append(str(path))
    cfg = dataclasses.replace(CFG, height=64, width=32, with_flow=True, flow_cache=str(tmp_path / "cache"))
    x = load_tracklet(Tracklet(tuple(frames), 0, 0), cfg)
    assert x.shape == (4, 5, 64, 32)
    dx = x[:, 3, 16:48, 8:24] * FLOW_SCALE  # pixels, away from the borders
    assert abs(float(dx.mean()) - 2.0) < 0.3 and abs(float(x[:, 4].mean() * FLOW_SCALE)) < 0.3
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    with mock.patch.object(flow_module, "farneback_flow", side_effect=AssertionError("recomputed")):
        cached = tracklet_flow(tuple(frames), 64, 32, cache_dir=tmp_path / "cache")
        again = load_tracklet(Tracklet(tuple(frames), 0, 0), cfg)
    np.testing.assert_allclose(cached[:, 0], x[:, 3].numpy() * FLOW_SCALE, atol=1e-5)
    assert torch.equal(again, x)
    flipped = hflip_clip(x.clone(), flow_channels=2)
    assert torch.allclose(flipped[:, 3], -x[:, 3].flip(-1)) and torch.allclose(flipped[:, 4], x[:, 4].flip(-1))


def test_flip_on_load_matches_flipping_the_loaded_clip(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "r"
    folder.mkdir()
    frames = []
    for i in range(3):
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), rng.integers(0, 255, (16, 8, 3)).astype(np.uint8))
        frames.append(str(path))
    cfg = dataclasses.replace(CFG, with_flow=True, flow_cache=str(tmp_path / "cache"))
    t = Tracklet(tuple(frames), 0, 0)
    assert torch.allclose(load_frames(t, cfg, [2, 0], flip=True), hflip_clip(load_frames(t, cfg, [2, 0]), 2))


@pytest.mark.parametrize("keep", [0.6, 0.8, 0.99])
def test_truncated_jpeg_is_an_error_naming_the_file(tmp_path, keep):
    from m3dreid.data import DatasetError
    from m3dreid.data.transforms import read_frame

    rng = np.random.default_rng(0)
    path = tmp_path / "f.jpg"
    cv2.imwrite(str(path), rng.integers(0, 255, (64, 32, 3), dtype=np.uint8))
    whole = read_frame(str(path), 64, 32)
    assert whole.shape == (64, 32, 3) and np.array_equal(whole, cv2.imread(str(path))[..., ::-1])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DatasetError, match=r"f\.jpg: truncated JPEG"):
        read_frame(str(path), 64, 32)
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match=r"f\.jpg: cannot read image"):
        read_frame(str(path), 64, 32)
