"""Export-time stand-ins for layers whose PyTorch form does not trace to a correct dynamic-T ONNX graph.

:class:`~m3dreid.layers.local_m3d.LocalM3D` adds shifted frame maps with in-place slice updates guarded by Python
``if reach < T`` tests. Both ONNX exporters bake those tests for the example ``T`` (clips with ``T <= reach`` then
fail), and the TorchScript exporter also mis-converts the in-place slice additions. :class:`ExportLocalM3D` computes
the same sum out-of-place with shifts that are valid for every ``T`` (concatenation with zero frames, or an index
gather for replicate padding). It shares the original's weights; the parity check compares the exported graph with
the unmodified model, so any difference shows there.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ExportLocalM3D", "export_friendly"]


def _shift(src: torch.Tensor, off: int, padding: str) -> torch.Tensor:
    """``out[:, t] = src[:, t + off]``; frames past either end are zero or the end frame. ``src`` is (B, T, ...)."""
    if padding == "replicate":
        t = src.shape[1]
        idx = (torch.arange(t, device=src.device) + off).clamp(0, t - 1)  # (T,)
        return src.index_select(1, idx)
    if off > 0:
        return torch.cat([src[:, off:], torch.zeros_like(src[:, :off])], dim=1)
    return torch.cat([torch.zeros_like(src[:, :-off]), src[:, :off]], dim=1)


class ExportLocalM3D(nn.Module):
    """Same function as ``LocalM3D`` (``s + sum_i T_i(s)``), written so that T stays symbolic in the graph."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        self.reach = layer.reach

    def forward(self, s: torch.Tensor, frames: int) -> torch.Tensor:  # (B*T, C, H, W) -> (B*T, C, H, W)
        layer = self.layer
        if layer.n == 0:
            return s
        offsets = layer.offsets
        y = F.conv2d(s, layer.fused_weight().to(s.dtype))  # (B*T, K*C, H, W)
        n_maps, c, h, w = s.shape
        y6 = y.view(-1, frames, len(offsets), c, h, w)  # (B, T, K, C, H, W)
        out = s.view(-1, frames, c, h, w)  # (B, T, C, H, W)
        for k, off in enumerate(offsets):
            src = y6[:, :, k]  # (B, T, C, H, W)
            out = out + (src if off == 0 else _shift(src, off, layer.padding))
        return out.reshape(n_maps, c, h, w)  # (B*T, C, H, W)


def export_friendly(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every ``LocalM3D`` wrapped in :class:`ExportLocalM3D` (weights copied along)."""
    from m3dreid.layers.local_m3d import LocalM3D

    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LocalM3D):
                setattr(parent, name, ExportLocalM3D(child))
    return model
