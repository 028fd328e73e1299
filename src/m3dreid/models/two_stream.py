"""Two-stream fusion (paper Sec. III-A, Eq. 1, and Sec. III-D): ``f = [f_s, f_t]``, vector concatenation.

Each stream is an ordinary :class:`~m3dreid.models.base.VideoReIDModel`, trained alone (the paper trains the M3D and
2D streams separately) and loaded from its own checkpoint; :class:`TwoStreamNet` runs both on their channels of the
clip and concatenates their retrieval features (``feature_dim = D_s + D_t``). Two registered pairs:

- ``two_stream_m3d_resnet50``: spatial = ``resnet50_2d``, temporal = ``m3d_resnet50``, both on RGB (the paper's model).
- ``flow_two_stream_resnet50``: the A&O baseline [47], appearance = ``resnet50_2d`` on RGB (channels 0-2), motion =
  a 2D ResNet whose ``conv1`` takes 2 channels, on the optical flow (channels 3-4; ``in_channels = 5``). The flow is
  computed and cached by the data pipeline (``m3dreid.data.flow``), never by the model.

``normalize=True`` L2-normalises each stream's feature before the concatenation so that both weigh the same under
Euclidean distance; the default (False) is the paper's plain concatenation. With ``num_classes > 0`` a classifier on
the concatenation allows joint fine-tuning (not in the paper); by default the two-stream model is for evaluation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from m3dreid.models.base import VideoReIDModel
from m3dreid.models.m3d_resnet import m3d_resnet50, resnet50_2d
from m3dreid.models.video_net import BackboneArgs, register_variant, video_model
from m3dreid.weights import load_weights

__all__ = ["TwoStreamNet", "load_stream_checkpoint", "two_stream_m3d_resnet50", "flow_two_stream_resnet50"]


def load_stream_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a stream's own training checkpoint strictly; ``classifier.*`` keys are dropped if the stream has none."""
    no_classifier = getattr(model, "classifier", None) is None
    load_weights(model, path, drop_prefixes=("classifier.",) if no_classifier else (), what="the stream model")
    return model


class TwoStreamNet(VideoReIDModel):
    """Concatenation of a spatial and a temporal stream, each reading its own slice of the clip's channels."""

    def __init__(
        self,
        *,
        spatial: VideoReIDModel,
        temporal: VideoReIDModel,
        spatial_channels: tuple[int, int] = (0, 3),
        temporal_channels: tuple[int, int] = (0, 3),
        num_classes: int = 0,
        normalize: bool = False,
    ) -> None:
        super().__init__()
        for name, stream, (lo, hi) in (
            ("spatial", spatial, spatial_channels),
            ("temporal", temporal, temporal_channels),
        ):
            if hi - lo != stream.in_channels:
                raise ValueError(f"{name} stream takes {stream.in_channels} channels, given slice {lo}:{hi}")
        self.spatial, self.temporal = spatial, temporal
        self.spatial_channels, self.temporal_channels = tuple(spatial_channels), tuple(temporal_channels)
        self.normalize = normalize
        self.in_channels = max(spatial_channels[1], temporal_channels[1])
        self.feature_dim = spatial.feature_dim + temporal.feature_dim
        self.temporal_radius = max(spatial.temporal_radius, temporal.temporal_radius)
        self.spatial_frame_dim = spatial.frame_dim
        self.frame_dim = spatial.frame_dim + temporal.frame_dim
        self.classifier = nn.Linear(self.feature_dim, num_classes, bias=False) if num_classes > 0 else None

    @classmethod
    def from_streams(cls, spatial: VideoReIDModel, temporal: VideoReIDModel, **kwargs) -> TwoStreamNet:
        """Fuse two (separately trained) stream models; ``kwargs`` as for the constructor."""
        return cls(spatial=spatial, temporal=temporal, **kwargs)

    def frame_features(self, clip: torch.Tensor) -> torch.Tensor:  # (B, T, C, H, W) -> (B, T, d_s + d_t)
        if clip.dim() != 5 or clip.shape[2] < self.in_channels:
            raise ValueError(f"expected a clip (B, T, {self.in_channels}, H, W), got shape {tuple(clip.shape)}")
        (s0, s1), (t0, t1) = self.spatial_channels, self.temporal_channels
        spatial = self.spatial.frame_features(clip[:, :, s0:s1])  # (B, T, d_s)
        temporal = self.temporal.frame_features(clip[:, :, t0:t1])  # (B, T, d_t)
        return torch.cat([spatial, temporal], dim=-1)  # (B, T, d_s + d_t)

    def aggregate(self, frame_feats: torch.Tensor) -> torch.Tensor:  # (B, T, d_s + d_t) -> (B, D_s + D_t)
        d_s = self.spatial_frame_dim
        f_s = self.spatial.aggregate(frame_feats[..., :d_s])  # (B, D_s)
        f_t = self.temporal.aggregate(frame_feats[..., d_s:])  # (B, D_t)
        if self.normalize:
            f_s, f_t = F.normalize(f_s, dim=1), F.normalize(f_t, dim=1)
        return torch.cat([f_s, f_t], dim=1)  # (B, D_s + D_t)


def _fuse(spatial, temporal, *, spatial_checkpoint, temporal_checkpoint, **kwargs) -> TwoStreamNet:
    if spatial_checkpoint:
        load_stream_checkpoint(spatial, spatial_checkpoint)
    if temporal_checkpoint:
        load_stream_checkpoint(temporal, temporal_checkpoint)
    return TwoStreamNet.from_streams(spatial, temporal, **kwargs)


def _stream_args(args: BackboneArgs) -> BackboneArgs:
    # each stream: the shared backbone and head arguments, RGB input, no classifier of its own
    return dataclasses.replace(args, num_classes=0, in_channels=3)


@video_model("two_stream_m3d_resnet50")
def two_stream_m3d_resnet50(
    args: BackboneArgs,
    *,
    spatial_checkpoint: str = "",
    temporal_checkpoint: str = "",
    normalize: bool = False,
    **m3d_kwargs,
) -> TwoStreamNet:
    """2D stream + M3D stream (Fig. 4); ``m3d_kwargs`` (local_n, global_n, ...) go to the M3D stream.

    ``spatial_checkpoint`` / ``temporal_checkpoint``: trained checkpoints of ``resnet50_2d`` / ``m3d_resnet50`` with
    the same architecture arguments (their classifiers are ignored). ``num_classes``: a classifier on the fusion.
    """
    spatial = resnet50_2d.build(_stream_args(args))
    temporal = m3d_resnet50.build(_stream_args(args), **m3d_kwargs)
    return _fuse(
        spatial,
        temporal,
        spatial_checkpoint=spatial_checkpoint,
        temporal_checkpoint=temporal_checkpoint,
        num_classes=args.num_classes,
        normalize=normalize,
    )


two_stream_m3d_resnet18 = register_variant("two_stream_m3d_resnet18", two_stream_m3d_resnet50, depth=18)


@video_model("flow_two_stream_resnet50")
def flow_two_stream_resnet50(
    args: BackboneArgs, *, spatial_checkpoint: str = "", temporal_checkpoint: str = "", normalize: bool = False
) -> TwoStreamNet:
    """A&O two-stream: RGB ResNet on channels 0-2 + flow ResNet (2-channel conv1) on channels 3-4 of 5-channel clips.

    ``pretrained`` ImageNet weights go to both; the flow stream's conv1 gets the RGB kernels averaged over colour.
    """
    appearance = resnet50_2d.build(_stream_args(args))
    motion = resnet50_2d.build(dataclasses.replace(_stream_args(args), in_channels=2))
    return _fuse(
        appearance,
        motion,
        spatial_checkpoint=spatial_checkpoint,
        temporal_checkpoint=temporal_checkpoint,
        spatial_channels=(0, 3),
        temporal_channels=(3, 5),
        num_classes=args.num_classes,
        normalize=normalize,
    )
