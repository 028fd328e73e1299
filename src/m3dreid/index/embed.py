"""Embed tracklets with a trained model: whole sequences, chunked (bounded memory), through the evaluation code."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["embed_tracklets"]


def embed_tracklets(
    model: nn.Module,
    tracklets: list,
    data_cfg,
    *,
    chunk_size: int = 64,
    device: str = "auto",
    progress: bool = False,
) -> np.ndarray:
    """``(N, D)`` float32 features, the same numbers ``m3dreid eval`` computes for these tracklets.

    Frames are read chunk by chunk (``load_frames``), so a tracklet of thousands of frames never sits in memory.
    """
    from m3dreid.data.loader import load_frames
    from m3dreid.evaluation.extract import extract_features

    with torch.no_grad():
        feats = extract_features(
            model,
            tracklets,
            load_frames_fn=lambda t, idx: load_frames(t, data_cfg, idx),
            chunk_size=chunk_size,
            device=device,
            progress=progress,
        )
    return feats.numpy().astype(np.float32)
