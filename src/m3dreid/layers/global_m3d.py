"""The global M3D layer (paper Sec. III-B4, Eqs. 8-10) on frame feature vectors.

``F`` (d x T, here ``(B, T, d)``) goes through ``n`` parallel temporal convolutions (kernel 3, dilation
``r_i = 2^(i-1)``, 'same' zero padding); their outputs ``F_bar(1..n)`` are concatenated with ``F`` to ``(n+1)d`` per
frame and averaged over time (Eq. 10). Any ``T >= 1`` works, also ``T`` below the receptive field ``2^n + 1``: frames
past the ends read zeros.

Note (measured, see tests/layers): a linear temporal convolution followed by temporal average pooling equals
``(sum of its taps) x mean_t F`` plus terms from the clip's two ends, so as written in Eqs. 9-10 (and in the
authors' released code) the layer sees frame ORDER only through the boundary frames. ``activation="gelu"`` (an
ablation knob, not the paper's) puts a nonlinearity between each branch and the pooling so that order inside the
clip matters; GELU keeps the zero-initialised layer equal to ``[mean F, 0, ..., 0]`` and, unlike ReLU at 0, still
passes gradients to zero weights.

The branches are zero-initialised by default, like the local layer's: a fresh layer yields ``[mean F, 0, ..., 0]``,
so a fresh M3D network equals the same network without temporal layers, while the (random) layer after it still
passes gradients to the branches. The per-frame cost is tiny (``d`` is a few hundred), so the plain ``conv1d`` per
branch is kept here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GlobalM3D"]


class GlobalM3D(nn.Module):
    """``(B, T, d) -> (B, (n+1)*d)``; :meth:`frame_outputs` gives the per-frame ``(B, T, (n+1)*d)`` before pooling."""

    def __init__(self, dim: int, n: int = 3, *, zero_init: bool = True, activation: str = "none") -> None:
        super().__init__()
        if n < 0:
            raise ValueError(f"GlobalM3D: n must be >= 0, got {n}")
        if activation not in ("none", "gelu"):
            raise ValueError(f"GlobalM3D: activation must be 'none' (the paper) or 'gelu', got {activation!r}")
        self.activation = activation
        self.dim, self.n = dim, n
        self.out_dim = (n + 1) * dim
        self.weight = nn.Parameter(torch.zeros(n, dim, dim, 3))  # (n, d_out, d_in, 3), taps read t - r, t, t + r
        if not zero_init and n > 0:
            nn.init.kaiming_uniform_(self.weight.view(n * dim, dim, 3), a=5**0.5)

    def frame_outputs(self, feats: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, T, (n+1)*d)
        if feats.dim() != 3 or feats.shape[-1] != self.dim:
            raise ValueError(f"GlobalM3D: expected frame features (B, T, {self.dim}), got {tuple(feats.shape)}")
        x = feats.transpose(1, 2)  # (B, d, T)
        outs = [feats]
        for i in range(self.n):
            r = 2**i
            y = F.conv1d(x, self.weight[i].to(x.dtype), padding=r, dilation=r)  # (B, d, T)
            if self.activation == "gelu":
                y = F.gelu(y)
            outs.append(y.transpose(1, 2))  # (B, T, d)
        return torch.cat(outs, dim=-1)  # (B, T, (n+1)*d)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, (n+1)*d)
        return self.frame_outputs(feats).mean(dim=1)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, n={self.n}, out_dim={self.out_dim}, activation={self.activation}"
