"""The packed frame cache: clips read from it equal clips decoded from the JPEGs, and a cache that does not match its
source (size, counts, frame list, damaged file) is a clear error."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from m3dreid.cli import main
from m3dreid.config import DataConfig
from m3dreid.data import DatasetError, Tracklet, VideoDataset, build_train_loader
from m3dreid.data.frame_cache import FrameCache, build_frame_cache
from m3dreid.data.loader import ClipDataset, load_frames, load_tracklet

pytestmark = pytest.mark.usefixtures("one_thread")


def _write_tracklet(folder: Path, n: int, rng: np.random.Generator) -> tuple[str, ...]:
    """``n`` 40x20 JPEG frames of smooth noise (the loader resizes them to 32x16, as real crops are resized)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (40, 30, 3)).astype(np.float32), (0, 0), 2)
    paths = []
    for f in range(n):
        img = np.clip(base[:, f % 10 : f % 10 + 20] + rng.normal(0, 6, (40, 20, 3)), 0, 255).astype(np.uint8)
        path = folder / f"F{f + 1:04d}.jpg"
        cv2.imwrite(str(path), img)
        paths.append(str(path))
    return tuple(paths)


def _dataset(root: Path) -> VideoDataset:
    rng = np.random.default_rng(0)
    train = [
        Tracklet(_write_tracklet(root / "train" / f"{p}_{k}", 5 + 3 * k, rng), p, k) for p in range(4) for k in (0, 1)
    ]
    query = [Tracklet(_write_tracklet(root / "test" / f"q{p}", 6, rng), 10 + p, 0) for p in range(2)]
    gallery = [*query, *(Tracklet(_write_tracklet(root / "test" / f"g{p}", 7, rng), 10 + p, 1) for p in range(2))]
    return VideoDataset(
        name="toy", train=train, query=query, gallery=gallery, train_pids_original=tuple(range(4)), root=str(root)
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("jpegs").resolve()
    dataset = _dataset(root)
    cfg = DataConfig(root=str(root), height=32, width=16, seq_len=6, ids_per_batch=2, tracklets_per_id=2, workers=0)
    path = build_frame_cache(dataset, cfg, root.parent / "toy_all.m3dcache", splits="all", overwrite=True)
    return dataset, cfg, path


def test_cache_holds_every_frame_once_and_says_so(source):
    dataset, cfg, path = source
    cache = FrameCache(path, root=cfg.root)
    # 4 ids x (5 + 8) train frames, 2 queries x 6 (stored once, though also in the gallery), 2 x 7 more gallery
    assert cache.num_frames == 4 * 13 + 2 * 6 + 2 * 7 == 78
    assert (cache.header["num_tracklets"], cache.header["num_stored_tracklets"]) == (8 + 2 + 4, 12)
    assert cache.array.shape == (78, 32, 16, 3) and cache.array.dtype == np.uint8
    assert path.stat().st_size == cache._offset + 78 * 32 * 16 * 3  # 1,536 bytes a frame at 32x16
    cache.check(dataset, cfg)  # built from this source: no error


def test_cached_clips_equal_jpeg_clips_with_the_same_seeds(source):
    dataset, cfg, path = source
    cached_cfg = dataclasses.replace(cfg, cache=str(path), hflip=0.5, random_erasing=0.5)
    jpeg_cfg = dataclasses.replace(cached_cfg, cache="")
    with_cache, without = ClipDataset(dataset.train, cached_cfg), ClipDataset(dataset.train, jpeg_cfg)
    for index in range(len(dataset.train)):
        for seed in range(6):  # covers flips, erasing and the looping of 5-frame tracklets into 6-frame clips
            a, b = with_cache[index, seed][0], without[index, seed][0]
            assert torch.equal(a, b), (index, seed)
    for t in dataset.query + dataset.gallery:  # whole test tracklets and windows of them
        assert torch.equal(load_tracklet(t, cached_cfg), load_tracklet(t, jpeg_cfg))
        assert torch.equal(load_frames(t, cached_cfg, [4, 1]), load_frames(t, jpeg_cfg, [4, 1]))
    batches = [list(build_train_loader(dataset, c, seed=3)) for c in (cached_cfg, jpeg_cfg)]
    for (clips_a, pids_a, _), (clips_b, pids_b, _) in zip(*batches, strict=True):
        assert torch.equal(clips_a, clips_b) and torch.equal(pids_a, pids_b)


def test_training_reads_the_cache_not_the_jpegs(tmp_path):
    root = (tmp_path / "data").resolve()
    dataset = _dataset(root)
    cfg = DataConfig(root=str(root), height=32, width=16, seq_len=4, ids_per_batch=2, tracklets_per_id=2, workers=1)
    path = build_frame_cache(dataset, cfg, tmp_path / "train.m3dcache", splits="train", workers=2)
    expected = [b[0] for b in build_train_loader(dataset, cfg, seed=1)]
    for t in dataset.train:  # the training JPEGs are gone: only the cache can give these clips now
        for frame in t.frames:
            os.remove(frame)
    cached = dataclasses.replace(cfg, cache=str(path))
    got = [b[0] for b in build_train_loader(dataset, cached, seed=1)]  # one worker process reads the map
    assert len(got) == len(expected) == 2
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    # a train-only cache leaves the test tracklets to the JPEG decoder
    assert load_tracklet(dataset.gallery[-1], cached).shape == (7, 3, 32, 16)


def test_mismatched_cache_is_a_clear_error(source, tmp_path):
    dataset, cfg, path = source
    cache = FrameCache(path, root=cfg.root)
    with pytest.raises(DatasetError, match=r"holds 16x32 frames, the config asks .* 8x16"):
        cache.check(dataset, dataclasses.replace(cfg, height=16, width=8))
    fewer = dataclasses.replace(dataset, train=dataset.train[:-1])
    with pytest.raises(
        DatasetError, match=r"holds 14 tracklets / 78 frames of train/query/gallery, the dataset has 13"
    ):
        cache.check(fewer, cfg)
    renamed = list(dataset.train)
    renamed[0] = renamed[0]._replace(frames=(*renamed[0].frames[:-1], renamed[0].frames[-1] + ".moved"))
    with pytest.raises(DatasetError, match="frame list differs"):
        cache.check(dataclasses.replace(dataset, train=renamed), cfg)
    with pytest.raises(DatasetError, match="built with dataset='toy'"):
        cache.check(dataclasses.replace(dataset, name="other"), cfg)
    with pytest.raises(DatasetError, match="tracklet .* has 3 frames, the cache 5"):
        cache.rows(dataset.train[0]._replace(frames=dataset.train[0].frames[:3]))
    # the loader checks before training: a cache built at another size never yields a clip
    with pytest.raises(DatasetError, match="holds 16x32 frames"):
        build_train_loader(dataset, dataclasses.replace(cfg, cache=str(path), height=16, width=8), seed=0)
    cut = tmp_path / "cut.m3dcache"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated or damaged"):
        FrameCache(cut)
    other = tmp_path / "frame.jpg"
    other.write_bytes(b"\xff\xd8 not a cache")
    with pytest.raises(DatasetError, match="not an m3dreid frame cache"):
        FrameCache(other)
    with pytest.raises(FileExistsError, match="--overwrite"):
        build_frame_cache(dataset, cfg, path)


def test_cache_command(source, tmp_path, capsys):
    _, cfg, _ = source
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  dataset: mars\n  root: {tmp_path / 'missing'}\n")
    assert main(["cache", "-c", str(config), "--out", str(tmp_path / "x.m3dcache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("m3dreid cache: ") and "missing" in err and len(err.strip().splitlines()) == 1


def test_uint8_clips_normalised_on_the_device_equal_the_float_clips(source):
    from m3dreid.data.loader import on_device

    dataset, cfg, path = source
    floats = dataclasses.replace(cfg, hflip=0.5, random_erasing=0.9)
    for cached in ("", str(path)):
        small = dataclasses.replace(floats, uint8_clips=True, cache=cached)
        raw = next(iter(build_train_loader(dataset, small, seed=4)))
        assert raw[0].dtype == torch.uint8 and raw[0].shape == (4, 6, 32, 16, 3) and raw[3].shape == (4, 4)
        assert (raw[3][:, 2] > 0).any()  # some clips carry an erasing box
        got = list(on_device(build_train_loader(dataset, small, seed=4), small, "cpu"))
        want = list(build_train_loader(dataset, floats, seed=4))
        assert len(got) == len(want) == 2
        for (a, pa, _), (b, pb, _) in zip(got, want, strict=True):
            assert a.dtype == torch.float32 and torch.equal(a, b) and torch.equal(pa, pb)
