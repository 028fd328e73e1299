"""The contract every video ReID model in m3dreid follows.

A model splits into two parts so that whole tracklets of any length can be evaluated in bounded memory:

1. ``frame_features(clip)``: ``(B, T, C, H, W) -> (B, T, d)``, one vector per frame. Frame ``t``'s vector may depend
   only on frames ``t - temporal_radius .. t + temporal_radius`` (0 for 2D CNNs; the sum of the local temporal
   convolutions' reach for M3D / I3D / P3D). Padding at the sequence ends is local (zero padding of the feature maps;
   I3D repeats the end frame so that inflation from 2D is exact), so running overlapping chunks with
   ``temporal_radius`` frames of halo and keeping their centres gives exactly the one-pass result (see
   ``m3dreid.evaluation.extract``).
2. ``aggregate(frame_feats)``: ``(B, T, d) -> (B, D)``, the sequence head (temporal average pooling, global M3D, LSTM,
   attention, ...) and the embedding used for retrieval. It always sees the whole sequence, which is small.

``forward(clip)`` composes the two; in training mode it returns ``(features, logits)`` when the model has a
classifier, otherwise just ``features``. Losses live outside the model.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["VideoReIDModel", "parameter_count"]


class VideoReIDModel(nn.Module):
    """Base class: subclasses set ``temporal_radius``, ``feature_dim`` and ``classifier`` and define the two parts."""

    temporal_radius: int = 0  # frames of context each side that one frame feature depends on
    feature_dim: int = 0  # D, the size of the retrieval feature returned by aggregate / forward
    in_channels: int = 3  # C of the clips the model takes (5 for RGB + optical flow)
    classifier: nn.Module | None  # set in __init__ (a class-level default would shadow a registered submodule)

    def __init__(self) -> None:
        super().__init__()
        self.classifier = None

    def frame_features(self, clip: torch.Tensor) -> torch.Tensor:  # (B, T, C, H, W) -> (B, T, d)
        raise NotImplementedError

    def aggregate(self, frame_feats: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, D)
        raise NotImplementedError

    def forward(self, clip: torch.Tensor):
        if clip.dim() != 5:
            raise ValueError(f"expected a clip (B, T, C, H, W), got shape {tuple(clip.shape)}")
        features = self.aggregate(self.frame_features(clip))  # (B, D)
        if self.training and self.classifier is not None:
            return features, self.classifier(features)  # (B, D), (B, num_classes)
        return features


def parameter_count(model: nn.Module, *, with_classifier: bool = True) -> int:
    """Number of parameters; ``with_classifier=False`` leaves out ``classifier.*`` (what retrieval needs)."""
    return sum(
        p.numel() for name, p in model.named_parameters() if with_classifier or not name.startswith("classifier.")
    )
