"""Training clips and whole test tracklets as tensors, and the training DataLoader.

Training: ``build_train_loader`` yields ``(clips (B, T, C, H, W), pids (B,), camids (B,))`` with a P x K identity
sampler; a clip is ``seq_len`` consecutive frames from a random start (a tracklet shorter than ``seq_len`` is looped:
frames ``s, s+1, ..., n-1, 0, 1, ...``), resized, mirrored with probability ``hflip``, one erasing box over the
whole clip with probability ``random_erasing``, normalised by ``mean``/``std``.
Test: ``load_tracklet`` / ``TrackletDataset`` give the whole tracklet, resized and normalised, no augmentation.
With ``data.with_flow`` every clip has 5 channels: RGB then optical flow (dx, dy) / ``FLOW_SCALE`` (see flow.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from m3dreid.data.base import DatasetError, Tracklet, VideoDataset
from m3dreid.data.flow import FLOW_SCALE, tracklet_flow
from m3dreid.data.frame_cache import open_frame_cache
from m3dreid.data.samplers import PKBatchSampler
from m3dreid.data.transforms import erase_box, normalize, normalize_batch, random_erase, read_frames

__all__ = [
    "ClipDataset",
    "TrackletDataset",
    "build_train_loader",
    "load_tracklet",
    "clip_indices",
    "load_frames",
    "load_images",
    "on_device",
]

log = logging.getLogger(__name__)


def clip_indices(num_frames: int, seq_len: int, start: int) -> np.ndarray:
    """``seq_len`` consecutive frame indices from ``start``, looping over a tracklet shorter than ``seq_len``."""
    return (start + np.arange(seq_len)) % num_frames


def load_frames(
    tracklet: Tracklet, data_cfg, indices: Sequence[int] | None = None, *, flip: bool = False
) -> torch.Tensor:
    """Frames ``indices`` (default all) of ``tracklet`` as a normalised ``(T, C, H, W)`` tensor, C = 3 or 5 (flow).

    ``flip`` mirrors the clip (and negates the flow's x component) before normalisation, on the uint8 frames.
    """
    h, w = data_cfg.height, data_cfg.width
    idx = np.arange(len(tracklet.frames)) if indices is None else np.asarray(indices)
    images = load_images(tracklet, data_cfg, idx, flip=flip)  # (T, H, W, 3)
    rgb = normalize(images, data_cfg.mean, data_cfg.std)  # (T, 3, H, W)
    if not data_cfg.with_flow:
        return rgb
    # flow of the whole tracklet: read from the cache (computed once, decoding every frame, on first use)
    flow = tracklet_flow(tracklet.frames, h, w, cache_dir=data_cfg.flow_cache or None)[idx]  # (T, 2, H, W)
    if flip:
        flow = flow[..., ::-1] * np.array([-1.0, 1.0], np.float32)[:, None, None]  # mirror, negate dx
    flow = torch.from_numpy(np.ascontiguousarray(flow / FLOW_SCALE, dtype=np.float32))
    return torch.cat([rgb, flow], dim=1)  # (T, 5, H, W)


def load_images(tracklet: Tracklet, data_cfg, idx: Sequence[int], *, flip: bool = False) -> np.ndarray:
    """Frames ``idx`` of ``tracklet`` as ``(T, H, W, 3)`` RGB uint8 at the config's size, from ``data.cache`` when
    it holds them, else decoded from the files; ``flip`` mirrors them."""
    if not tracklet.frames:
        raise DatasetError(f"empty tracklet (pid {tracklet.pid}, camera {tracklet.camid})")
    idx = np.asarray(idx)
    images = _cached_frames(tracklet, data_cfg, idx) if getattr(data_cfg, "cache", "") else None
    if images is None:
        images = read_frames([tracklet.frames[i] for i in idx], data_cfg.height, data_cfg.width)  # (T, H, W, 3)
    if not flip:
        return images
    mirrored = np.empty_like(images)  # cv2.flip per frame: a SIMD copy (numpy's reversed-stride copy is ~10x slower)
    for i in range(len(images)):
        mirrored[i] = cv2.flip(images[i], 1)
    return mirrored


def _cached_frames(tracklet: Tracklet, data_cfg, idx: np.ndarray) -> np.ndarray | None:
    """Frames from the packed cache ``data.cache``; None for a tracklet of a split it does not hold (test
    tracklets with a train-only cache are decoded from their files)."""
    cache = open_frame_cache(data_cfg.cache, data_cfg.root)
    images = cache.frames(tracklet, idx, data_cfg.height, data_cfg.width)
    if images is None and set(cache.splits) >= {"query", "gallery"}:
        raise DatasetError(f"{cache.path}: no frames cached for tracklet {tracklet.frames[0]} (rebuild the cache)")
    return images


def load_tracklet(tracklet: Tracklet, data_cfg) -> torch.Tensor:
    """The whole tracklet for testing: ``(T, C, H, W)`` float, resized and normalised, no augmentation."""
    return load_frames(tracklet, data_cfg)


class ClipDataset(Dataset):
    """Training clips; items are ``(tracklet index, sample seed)`` pairs from ``PKBatchSampler``."""

    def __init__(self, tracklets: Sequence[Tracklet], data_cfg) -> None:
        self.tracklets, self.cfg = list(tracklets), data_cfg
        empty = [i for i, t in enumerate(self.tracklets) if not t.frames]
        if empty:
            raise DatasetError(f"{len(empty)} empty training tracklets (first: index {empty[0]})")

    def __len__(self) -> int:
        return len(self.tracklets)

    def __getitem__(self, item: tuple[int, int]) -> tuple:
        index, seed = item
        t = self.tracklets[index]
        rng = np.random.default_rng(seed)
        n, T = len(t.frames), self.cfg.seq_len
        start = int(rng.integers(0, n - T + 1)) if n >= T else int(rng.integers(0, n))
        flip, erase = rng.random() < self.cfg.hflip, rng.random() < self.cfg.random_erasing
        if getattr(self.cfg, "uint8_clips", False):  # normalised (and erased) later, on the training device
            images = load_images(t, self.cfg, clip_indices(n, T, start), flip=flip)  # (T, H, W, 3)
            box = erase_box(rng, self.cfg.height, self.cfg.width) if erase else None
            return torch.from_numpy(images), t.pid, t.camid, torch.tensor(box or (0, 0, 0, 0))
        clip = load_frames(t, self.cfg, clip_indices(n, T, start), flip=flip)  # (T, C, H, W)
        if erase:
            clip = random_erase(clip, rng)
        if self.cfg.shift_px > 0 or self.cfg.color_jitter > 0:  # drawn after the others: old recipes replay exactly
            clip = shift_and_jitter(clip, rng, shift_px=self.cfg.shift_px, jitter=self.cfg.color_jitter)
        return clip, t.pid, t.camid


def shift_and_jitter(clip: torch.Tensor, rng: np.random.Generator, *, shift_px: int, jitter: float) -> torch.Tensor:
    """One random shift (vacated border = 0, the mean colour) and one colour gain/offset for every frame of a clip.

    The same for all frames, so frame-to-frame changes (the temporal cue) are untouched; only the image channels
    (the first 3) are jittered. ``clip`` is ``(T, C, H, W)``, normalised.
    """
    out = clip
    if shift_px > 0:
        dy, dx = (int(v) for v in rng.integers(-shift_px, shift_px + 1, 2))
        out = torch.zeros_like(clip)
        h, w = clip.shape[-2:]
        out[..., max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)] = clip[
            ..., max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)
        ]
    if jitter > 0:
        gain = torch.from_numpy(rng.uniform(1 - jitter, 1 + jitter, 3).astype(np.float32))[:, None, None]
        offset = torch.from_numpy(rng.uniform(-jitter, jitter, 3).astype(np.float32))[:, None, None]
        out = out.clone() if out is clip else out
        out[:, :3] = out[:, :3] * gain + offset
    return out


class TrackletDataset(Dataset):
    """Whole tracklets for test-time extraction with workers: item ``i`` -> ``(clip (T, C, H, W), pid, camid)``.

    Tracklets differ in length: use ``batch_size=1`` (or a collate that groups equal lengths).
    """

    def __init__(self, tracklets: Sequence[Tracklet], data_cfg) -> None:
        self.tracklets, self.cfg = list(tracklets), data_cfg

    def __len__(self) -> int:
        return len(self.tracklets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        t = self.tracklets[index]
        return load_tracklet(t, self.cfg), t.pid, t.camid


class on_device:  # noqa: N801  (used like a function: on_device(loader, data_cfg, device))
    """The training loader's batches on ``device`` as ``(clips (B, T, C, H, W) float, pids, camids)``.

    With ``data.uint8_clips`` the workers send uint8 frames and erasing boxes (a quarter of the bytes to copy
    between processes and to the GPU) and they are normalised here, on the device, to exactly the clips the float
    path gives; otherwise the batches pass through unchanged (the trainer moves them). Iterable again every epoch,
    with the loader's ``len``.
    """

    def __init__(self, batches, data_cfg, device: torch.device | str) -> None:
        self.batches, self.cfg, self.device = batches, data_cfg, torch.device(device)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        if not getattr(self.cfg, "uint8_clips", False):
            yield from self.batches
            return
        for frames, pids, camids, boxes in self.batches:
            frames = frames.to(self.device, non_blocking=True)  # (B, T, H, W, 3) uint8
            yield normalize_batch(frames, self.cfg.mean, self.cfg.std, boxes), pids, camids


def _worker_init(worker_id: int) -> None:
    # one decoding thread a worker: the workers are the parallelism, nested thread pools only contend
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def build_train_loader(
    dataset: VideoDataset, data_cfg, *, seed: int, rank: int = 0, world_size: int = 1, num_batches: int | None = None
) -> DataLoader:
    """P x K training loader over ``dataset.train`` yielding ``(clips (B, T, C, H, W), pids (B,), camids (B,))``.

    Deterministic from ``seed`` (and the epoch, advanced on each pass or by ``loader.batch_sampler.set_epoch``);
    with ``world_size > 1`` each rank gets disjoint batches of B = P*K. ``num_batches`` sets the global number of
    batches an epoch (default: one pass over the identities, ``num_train_pids // P``).
    """
    sampler = PKBatchSampler(
        [t.pid for t in dataset.train],
        ids_per_batch=data_cfg.ids_per_batch,
        tracklets_per_id=data_cfg.tracklets_per_id,
        seed=seed,
        rank=rank,
        world_size=world_size,
        num_batches=num_batches,
        neighbours_per_id=data_cfg.neighbours_per_id,
    )
    if getattr(data_cfg, "uint8_clips", False) and data_cfg.with_flow:
        raise DatasetError("data.uint8_clips: optical-flow channels (data.with_flow) are float; use one or the other")
    if getattr(data_cfg, "uint8_clips", False) and (data_cfg.shift_px > 0 or data_cfg.color_jitter > 0):
        # these act on the normalised float clip; on the device they are not implemented (yet)
        raise DatasetError("data.uint8_clips does not apply data.shift_px / data.color_jitter: set them to 0 or leave "
                           "data.uint8_clips off")  # fmt: skip
    if getattr(data_cfg, "cache", ""):  # a cache built from another source / size is an error here, not a wrong clip
        open_frame_cache(data_cfg.cache, data_cfg.root).check(dataset, data_cfg)
    workers = data_cfg.workers
    return DataLoader(
        ClipDataset(dataset.train, data_cfg),
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        worker_init_fn=_worker_init if workers > 0 else None,
        prefetch_factor=4 if workers > 0 else None,
    )
