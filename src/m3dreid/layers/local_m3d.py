"""The local M3D layer (paper Sec. III-B3, Eq. 5): ``y = S(x) + sum_{i=1..n} T_i(S(x))``.

``S`` is a block's 2D spatial convolution (it stays in the ResNet block); this module is the temporal part that is
added to S's output: ``n`` parallel temporal convolutions with kernel 3x1x1 and dilation ``r_i = 2^(i-1)``, 'same'
zero padding in time so ``T`` is kept. Together they reach ``2^(n-1)`` frames each side, a receptive field of
``2^n + 1`` frames (9 for n=3, as the paper says of Fig. 6).

Fast form. Frames travel through the 2D network as ``(B*T, C, H, W)``. Branch ``i`` reads frame ``t + a*r_i`` with
tap ``a`` in {-1, 0, 1}; the centre taps of all branches read the same frame, so the layer is one linear map per
distinct temporal offset {0, +-1, +-2, ..., +-2^(n-1)}: ``2n + 1`` C x C matrices. They are stacked into ONE 1x1
convolution with ``(2n + 1) * C`` outputs (a single GEMM, channels_last friendly, no permute of the feature map), and
:func:`temporal_shift_sum` adds each output slice to the frame it belongs to; its backward is written out
(:func:`_shift_sum_grad`: each gradient slice is one shifted copy) instead of autograd's one zero-filled full-size
tensor per offset, which took about a third of the layer's training step on a CPU. The parameters stay the paper's
(``n`` branches x 3 taps, ``weight`` of shape ``(n, C, C, 3)``); the tests check the fused form against an explicit
loop of dilated ``Conv3d`` calls.

Zero initialisation (paper: "M3D layer can be initialized by setting weights of temporal kernels to 0"): a fresh
layer returns ``S(x)`` unchanged, so a fresh M3D network computes exactly its 2D network. The branches have no bias
and no BN of their own: a BN after a zero-initialised branch would normalise zeros, and the block's next BN already
re-normalises the sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LocalM3D", "temporal_shift_sum", "local_m3d_offsets"]

PADDINGS = ("zeros", "replicate")


def local_m3d_offsets(n: int) -> tuple[int, ...]:
    """The distinct frame offsets read by ``n`` parallel 3-tap branches with dilations 1, 2, ..., 2^(n-1)."""
    offsets = [0]
    for i in range(n):
        offsets += [-(2**i), 2**i]
    return tuple(offsets)


def _frames_view(x: torch.Tensor, frames: int, where: str) -> tuple[int, int]:
    if x.dim() != 4:
        raise ValueError(f"{where}: expected frame maps (B*T, C, H, W), got shape {tuple(x.shape)}")
    if frames < 1 or x.shape[0] % frames:
        raise ValueError(f"{where}: {x.shape[0]} frame maps do not split into clips of T={frames} frames")
    return x.shape[0] // frames, frames


def temporal_shift_sum(
    y: torch.Tensor,
    frames: int,
    offsets: Sequence[int],
    *,
    base: torch.Tensor | None = None,
    padding: str = "zeros",
) -> torch.Tensor:
    """``out[t] = base[t] + sum_k Y_k[t + offsets[k]]`` for maps stacked along channels.

    ``y`` is ``(B*T, K*C, H, W)``: K maps ``Y_k`` of C channels each, ``Y_k`` computed for offset ``offsets[k]``
    (the caller's one big convolution). Frames outside the clip are zero (``padding="zeros"``) or the end frame
    (``"replicate"``). ``base`` (``(B*T, C, H, W)``, e.g. the residual ``S(x)``) is added if given. Returns
    ``(B*T, C, H, W)`` in ``base``'s (or ``y``'s) memory format. Under ``torch.jit`` tracing, ONNX export or
    ``torch.compile`` an out-of-place form without tests on T is used, so one graph works for every T.
    """
    if padding not in PADDINGS:
        raise ValueError(f"temporal padding must be one of {PADDINGS}, got {padding!r}")
    if 0 not in offsets:
        raise ValueError(f"offsets must include 0, got {tuple(offsets)}")
    batch, t = _frames_view(y, frames, "temporal_shift_sum")
    k_maps = len(offsets)
    n_maps, kc, h, w = y.shape
    if kc % k_maps:
        raise ValueError(f"temporal_shift_sum: {kc} channels do not split into {k_maps} offset maps")
    c = kc // k_maps
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling():
        # no Python test on T: one traced / exported / compiled graph serves every clip length (torch.compile with
        # dynamic shapes would otherwise specialise, and recompile, on each T that the slice bounds depend on)
        y6 = y.view(batch, t, k_maps, c, h, w)  # (B, T, K, C, H, W)
        return _shift_sum_traceable(y6, offsets, base, padding).reshape(n_maps, c, h, w)  # (B*T, C, H, W)
    offsets = tuple(int(o) for o in offsets)
    if torch.is_grad_enabled() and (y.requires_grad or (base is not None and base.requires_grad)):
        if base is None:
            return _ShiftSum.apply(y, frames, offsets, padding)
        return _ShiftSumBase.apply(y, base, frames, offsets, padding)
    return _shift_sum_forward(y, frames, offsets, base, padding)


def _shift_sum_forward(
    y: torch.Tensor, frames: int, offsets: tuple[int, ...], base: torch.Tensor | None, padding: str
) -> torch.Tensor:
    """The sum itself, with in-place slice updates on one fresh output (no autograd graph of its own)."""
    n_maps, kc, h, w = y.shape
    batch, t, k_maps = n_maps // frames, frames, len(offsets)
    c = kc // k_maps
    y6 = y.view(batch, t, k_maps, c, h, w)  # (B, T, K, C, H, W)
    centre = y6[:, :, offsets.index(0)]  # (B, T, C, H, W)
    # result: a fresh (B*T, C, H, W) tensor, filled through its (B, T, C, H, W) view (returning the tensor, not a
    # view of it, lets callers modify it in place, e.g. an inplace ReLU after a custom autograd Function)
    if base is not None:
        result = torch.empty_like(base, dtype=torch.promote_types(base.dtype, y.dtype))
        out = torch.add(base.view(batch, t, c, h, w), centre, out=result.view(batch, t, c, h, w))
    else:
        fmt = torch.channels_last if _is_channels_last(y) else torch.contiguous_format
        result = torch.empty((n_maps, c, h, w), dtype=y.dtype, device=y.device, memory_format=fmt)
        out = result.view(batch, t, c, h, w).copy_(centre)  # (B, T, C, H, W)
    for k, off in enumerate(offsets):
        if off == 0:
            continue
        src = y6[:, :, k]  # (B, T, C, H, W)
        reach = abs(off)
        if reach < t:  # frames whose source lies inside the clip
            if off > 0:
                out[:, : t - off] += src[:, off:]
            else:
                out[:, reach:] += src[:, : t - reach]
        if padding == "replicate":  # frames whose source lies past an end read the end frame
            edge = min(reach, t)
            if off > 0:
                out[:, t - edge :] += src[:, t - 1 :]
            else:
                out[:, :edge] += src[:, :1]
    return result  # (B*T, C, H, W)


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _shift_sum_grad(grad_out: torch.Tensor, y_like: tuple, frames: int, offsets, padding: str) -> torch.Tensor:
    """Gradient of the sum for ``y``: slice ``k`` is ``grad_out`` shifted back by ``offsets[k]``, written once.

    Autograd through the in-place forward would instead build one zero-filled ``y``-sized tensor per offset and add
    them up (2n + 1 full passes over ``(2n + 1) * C`` channels); this writes each slice of the result exactly once.
    ``y_like`` = ``(shape, dtype, channels_last)`` of ``y``: the backward never reads ``y``'s values, so the
    forward keeps no reference to that big tensor.
    """
    shape, dtype, channels_last = y_like
    n_maps, kc, h, w = shape
    batch, t, k_maps = n_maps // frames, frames, len(offsets)
    c = kc // k_maps
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    grad_y = torch.empty(shape, dtype=dtype, device=grad_out.device, memory_format=fmt)  # (B*T, K*C, H, W)
    g6 = grad_y.view(batch, t, k_maps, c, h, w)  # (B, T, K, C, H, W)
    g = grad_out.reshape(batch, t, c, h, w)  # (B, T, C, H, W)
    for k, off in enumerate(offsets):
        dst = g6[:, :, k]  # (B, T, C, H, W): out[t] read y_k[t + off], so y_k[s] receives g[s - off]
        if off == 0:
            dst.copy_(g)
            continue
        if padding == "replicate":  # out[t] read y_k[clamp(t + off)]
            dst.zero_()
            dst.index_add_(1, (torch.arange(t, device=g.device) + off).clamp(0, t - 1), g)
            continue
        reach = abs(off)
        if reach >= t:
            dst.zero_()
        elif off > 0:
            dst[:, off:].copy_(g[:, : t - off])
            dst[:, :off].zero_()
        else:
            dst[:, : t - reach].copy_(g[:, reach:])
            dst[:, t - reach :].zero_()
    return grad_y


class _ShiftSum(torch.autograd.Function):
    """``temporal_shift_sum`` without ``base``, with :func:`_shift_sum_grad` as its backward."""

    @staticmethod
    def forward(ctx, y, frames, offsets, padding):
        ctx.meta = (frames, offsets, padding)
        ctx.y_like = (y.shape, y.dtype, _is_channels_last(y))
        return _shift_sum_forward(y, frames, offsets, None, padding)

    @staticmethod
    def backward(ctx, grad_out):
        frames, offsets, padding = ctx.meta
        return _shift_sum_grad(grad_out, ctx.y_like, frames, offsets, padding), None, None, None


class _ShiftSumBase(torch.autograd.Function):
    """``temporal_shift_sum`` with ``base`` (whose gradient is ``grad_out`` itself)."""

    @staticmethod
    def forward(ctx, y, base, frames, offsets, padding):
        ctx.meta = (frames, offsets, padding)
        ctx.y_like = (y.shape, y.dtype, _is_channels_last(y))
        return _shift_sum_forward(y, frames, offsets, base, padding)

    @staticmethod
    def backward(ctx, grad_out):
        frames, offsets, padding = ctx.meta
        grad_y = _shift_sum_grad(grad_out, ctx.y_like, frames, offsets, padding) if ctx.needs_input_grad[0] else None
        return grad_y, grad_out if ctx.needs_input_grad[1] else None, None, None, None


def _shift(src: torch.Tensor, off: int, padding: str) -> torch.Tensor:
    """``out[:, t] = src[:, t + off]`` for every T, out of place; past an end: zeros or the end frame."""
    if padding == "replicate":
        t = src.shape[1]
        return src.index_select(1, (torch.arange(t, device=src.device) + off).clamp(0, t - 1))
    if off > 0:
        return torch.cat([src[:, off:], torch.zeros_like(src[:, :off])], dim=1)
    return torch.cat([torch.zeros_like(src[:, :-off]), src[:, :off]], dim=1)


def _shift_sum_traceable(y6: torch.Tensor, offsets, base: torch.Tensor | None, padding: str) -> torch.Tensor:
    """The same sum without in-place slice updates or tests on T, so a traced / exported graph keeps T free."""
    out = None if base is None else base.view(y6.shape[0], y6.shape[1], *y6.shape[3:])  # (B, T, C, H, W)
    for k, off in enumerate(offsets):
        term = y6[:, :, k] if off == 0 else _shift(y6[:, :, k], off, padding)  # (B, T, C, H, W)
        out = term if out is None else out + term
    return out


class LocalM3D(nn.Module):
    """Temporal part of a local M3D layer: ``s -> s + sum_i T_i(s)`` on frame maps ``(B*T, C, H, W)``.

    ``n=0`` is the identity (plain 2D). ``reach`` = ``2^(n-1)`` frames each side (0 for n=0), what the layer adds to
    a model's ``temporal_radius``.
    """

    def __init__(self, channels: int, n: int = 3, *, padding: str = "zeros") -> None:
        super().__init__()
        if n < 0:
            raise ValueError(f"LocalM3D: n must be >= 0, got {n}")
        if padding not in PADDINGS:
            raise ValueError(f"LocalM3D: padding must be one of {PADDINGS}, got {padding!r}")
        self.channels, self.n, self.padding = channels, n, padding
        self.offsets = local_m3d_offsets(n)
        self.reach = 2 ** (n - 1) if n > 0 else 0
        # (n, C_out, C_in, 3): branch i, tap a in (-1, 0, +1) reads frame t + a * 2^i; zero = the 2D network
        self.weight = nn.Parameter(torch.zeros(n, channels, channels, 3))

    def fused_weight(self) -> torch.Tensor:
        """The ``2n + 1`` per-offset matrices, stacked in ``self.offsets`` order: ``((2n+1)*C, C, 1, 1)``."""
        parts = [self.weight[:, :, :, 1].sum(0)]  # offset 0: all centre taps, (C, C)
        for i in range(self.n):
            parts += [self.weight[i, :, :, 0], self.weight[i, :, :, 2]]  # offsets -2^i, +2^i
        return torch.cat(parts, 0)[:, :, None, None]  # ((2n+1)*C, C, 1, 1)

    def forward(self, s: torch.Tensor, frames: int) -> torch.Tensor:  # (B*T, C, H, W) -> (B*T, C, H, W)
        if self.n == 0:
            return s
        y = F.conv2d(s, self.fused_weight().to(s.dtype))  # (B*T, (2n+1)*C, H, W)
        return temporal_shift_sum(y, frames, self.offsets, base=s, padding=self.padding)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, n={self.n}, reach={self.reach}, padding={self.padding}"
