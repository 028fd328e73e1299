"""Features of whole tracklets of any length, in memory bounded by the chunk size, equal to the one-pass result.

The paper tests on whole sequences; a MARS tracklet has up to 920 frames and a ResNet-50's activations for all of
them at once do not fit. The model contract (:class:`m3dreid.models.base.VideoReIDModel`) splits a model into
``frame_features`` (each output frame depends only on ``temporal_radius`` frames each side) and ``aggregate`` (the
cheap sequence head). So the frames go through ``frame_features`` in chunks of ``chunk_size`` frames, each with
``temporal_radius`` frames of halo on both sides (fewer at the sequence ends, where the model zero-pads anyway);
only the chunk's centre frames are kept. Their concatenation ``(1, T, d)`` is exactly what one pass would give, and
``aggregate`` turns it into the ``(D,)`` feature.

Frames come from ``load_fn(tracklet) -> (T, C, H, W)`` (the whole tracklet), or, when given,
``load_frames_fn(tracklet, indices) -> (len(indices), C, H, W)``, which loads only each window: then the decoded
frames are bounded too (a 2,000-frame tracklet at 256x128 is 0.8 GB of float32 frames).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from m3dreid.utils.device import resolve_device

__all__ = ["chunk_windows", "extract_tracklet", "extract_features", "tracklets_of"]

log = logging.getLogger(__name__)


def chunk_windows(num_frames: int, chunk_size: int, radius: int) -> list[tuple[int, int, int, int]]:
    """``(window_start, window_stop, keep_start, keep_stop)`` per chunk; keep_* index into the window's output."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    windows = []
    for start in range(0, num_frames, chunk_size):
        stop = min(start + chunk_size, num_frames)
        w_start, w_stop = max(0, start - radius), min(num_frames, stop + radius)
        windows.append((w_start, w_stop, start - w_start, stop - w_start))
    return windows


def tracklets_of(source: Any) -> list:
    """A dataset (anything with ``.query`` and ``.gallery``) -> query + gallery tracklets; a sequence -> a list."""
    if hasattr(source, "query") and hasattr(source, "gallery"):
        return list(source.query) + list(source.gallery)
    return list(source)


def _describe(tracklet: Any) -> str:
    frames = getattr(tracklet, "frames", None)
    if frames:
        return f"tracklet {frames[0]} ({len(frames)} frames)"
    return f"tracklet of type {type(tracklet).__name__}"


def _num_frames(tracklet: Any) -> int:
    frames = getattr(tracklet, "frames", None)
    return len(frames) if frames is not None else len(tracklet)


def _check_frames(frames: torch.Tensor, expected: int, tracklet: Any) -> torch.Tensor:
    if not isinstance(frames, torch.Tensor) or frames.dim() != 4:
        shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise ValueError(f"{_describe(tracklet)}: loader must return (T, C, H, W) frames, got {shape}")
    if frames.shape[0] != expected:
        raise ValueError(f"{_describe(tracklet)}: loader returned {frames.shape[0]} frames, expected {expected}")
    return frames


def _autocast(device: torch.device, amp: bool):
    # the caller decides where bf16 applies (engine.fast_paths: CUDA, or a CPU when asked); autocast works on both
    if amp:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def extract_tracklet(
    model: nn.Module,
    tracklet: Any,
    *,
    load_fn: Callable[[Any], torch.Tensor] | None = None,
    load_frames_fn: Callable[[Any, Sequence[int]], torch.Tensor] | None = None,
    chunk_size: int = 64,
    device: torch.device | str = "cpu",
    flip: bool = False,
    amp: bool = False,
    frame_features_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``(D,)`` float32 feature of one whole tracklet (a ``(T, C, H, W)`` tensor when no loader is given).

    ``flip``: the feature is the mean of the features of the frames and of their mirror images.
    ``frame_features_fn``: what runs ``model.frame_features`` (e.g. its ``torch.compile``'d form).
    """
    device = torch.device(device)
    frame_features = frame_features_fn or model.frame_features
    radius = int(getattr(model, "temporal_radius", 0))
    whole = None
    if load_frames_fn is None:
        whole = load_fn(tracklet) if load_fn is not None else tracklet
        if load_fn is not None and getattr(tracklet, "frames", None) is not None:
            whole = _check_frames(whole, len(tracklet.frames), tracklet)
        num = _check_frames(whole, len(whole), tracklet).shape[0]
    else:
        num = _num_frames(tracklet)
    if num == 0:
        raise ValueError(f"{_describe(tracklet)}: no frames")
    views = (False, True) if flip else (False,)
    # One (1, T, d) buffer per view, filled chunk by chunk: no small tensor is left between two chunks' large
    # activation buffers, which would fragment the CPU heap and make the peak grow with the tracklet length.
    kept: dict[bool, torch.Tensor] = {}
    for w_start, w_stop, k_start, k_stop in chunk_windows(num, chunk_size, radius):
        if whole is not None:
            window = whole[w_start:w_stop]  # (W, C, H, W)
        else:
            window = _check_frames(load_frames_fn(tracklet, np.arange(w_start, w_stop)), w_stop - w_start, tracklet)
        clip = window.to(device, non_blocking=True)[None]  # (1, W, C, H, W)
        for mirrored in views:
            x = clip.flip(-1) if mirrored else clip
            with _autocast(device, amp):
                feats = frame_features(x)  # (1, W, d)
            if mirrored not in kept:
                kept[mirrored] = feats.new_empty(1, num, feats.shape[2])  # (1, T, d)
            start = w_start + k_start
            kept[mirrored][:, start : start + k_stop - k_start] = feats[:, k_start:k_stop]  # centre frames only
            del feats
        del clip, window
    out = None
    for mirrored in views:
        frame_feats = kept[mirrored]  # (1, T, d)
        with _autocast(device, amp):
            feat = model.aggregate(frame_feats).float()[0]  # (D,)
        out = feat if out is None else (out + feat) / 2
    return out


def extract_features(
    model: nn.Module,
    tracklets_or_dataset: Any,
    *,
    load_fn: Callable[[Any], torch.Tensor] | None = None,
    load_frames_fn: Callable[[Any, Sequence[int]], torch.Tensor] | None = None,
    chunk_size: int = 64,
    device: torch.device | str | None = "auto",
    flip: bool = False,
    amp: bool = False,
    channels_last: bool = False,
    compile: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """``(N, D)`` float32 CPU features of every tracklet, in order (a dataset: its query tracklets, then gallery).

    ``device="auto"`` runs where the model's parameters are; any other device moves the model there. The model is
    switched to eval mode for the call and restored afterwards. The fast paths apply on whatever device they are
    asked for (callers take them from :func:`m3dreid.utils.fast_paths.fast_paths`, which keeps them to CUDA unless
    ``train.fast_paths_on_cpu``): ``amp`` = bf16 autocast, ``channels_last`` converts the model's weights in place,
    ``compile`` runs ``frame_features`` through ``torch.compile(dynamic=True)`` (window lengths vary per tracklet).
    """
    tracklets = tracklets_of(tracklets_or_dataset)
    params = next(model.parameters(), None)
    dev = resolve_device(device, like=params)  # auto: where the parameters are
    model.to(dev)
    if channels_last:
        from m3dreid.utils.fast_paths import to_channels_last

        to_channels_last(model)
    frame_features_fn = torch.compile(model.frame_features, dynamic=True) if compile else None
    was_training = model.training
    model.eval()
    iterator: Any = tracklets
    if progress:
        from tqdm import tqdm

        iterator = tqdm(tracklets, desc="extract", unit="tracklet", dynamic_ncols=True)
    try:
        feats = [
            extract_tracklet(
                model,
                t,
                load_fn=load_fn,
                load_frames_fn=load_frames_fn,
                chunk_size=chunk_size,
                device=dev,
                flip=flip,
                amp=amp,
                frame_features_fn=frame_features_fn,
            ).cpu()
            for t in iterator
        ]
    finally:
        model.train(was_training)
    if not feats:
        return torch.zeros(0, getattr(model, "feature_dim", 0))
    log.info("extracted %d features of size %d (chunks of %d frames)", len(feats), feats[0].numel(), chunk_size)
    return torch.stack(feats)  # (N, D)
