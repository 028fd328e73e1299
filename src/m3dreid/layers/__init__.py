"""The paper's two temporal layers: local M3D (on frame feature maps) and global M3D (on frame feature vectors)."""

from m3dreid.layers.global_m3d import GlobalM3D
from m3dreid.layers.local_m3d import LocalM3D, local_m3d_offsets, temporal_shift_sum

__all__ = ["GlobalM3D", "LocalM3D", "local_m3d_offsets", "temporal_shift_sum"]
