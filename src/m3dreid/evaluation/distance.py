"""Query x gallery distance matrices, computed in row blocks so that the temporaries stay small.

Two metrics:

- ``euclidean``: the *squared* Euclidean distance ``|q|^2 + |g|^2 - 2 q.g`` (clamped at 0). Squaring does not change
  a ranking, so CMC / mAP / mINP are the same as with the plain Euclidean distance (the MARS kit's ``pdist2``); pass
  ``squared=False`` for the plain one (e.g. to print distances).
- ``cosine``: ``1 - cos(q, g)`` on L2-normalised features (0 = same direction, 2 = opposite).

Inputs may be numpy arrays or torch tensors; the computation runs in torch on ``device`` (``"auto"`` = where the
query tensor lives, CPU for numpy) and returns a torch tensor on that device.
"""

from __future__ import annotations

import numpy as np
import torch

from m3dreid.utils.device import resolve_device

__all__ = ["METRICS", "as_tensor", "query_gallery_tensors", "pairwise_distance"]

METRICS = ("euclidean", "cosine")


def as_tensor(x: object, *, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """numpy array / list / tensor -> tensor on ``device`` (no copy when it already fits)."""
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype or x.dtype)
    array = np.asarray(x)
    return torch.as_tensor(array, device=device, dtype=dtype)


def query_gallery_tensors(
    query: object,
    gallery: object,
    *,
    metric: str,
    device: str | torch.device | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked ``(Q, D)`` and ``(G, D)`` tensors on one device: the common entry of every distance computation."""
    if metric not in METRICS:
        raise ValueError(f"unknown distance metric '{metric}' (known: {', '.join(METRICS)})")
    dev = resolve_device(device, query)
    q = as_tensor(query, device=dev, dtype=dtype)
    g = as_tensor(gallery, device=dev, dtype=dtype)
    if q.dim() != 2 or g.dim() != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(
            f"features must be (Q, D) and (G, D) with the same D, got {tuple(q.shape)} and {tuple(g.shape)}"
        )
    return q, g


def pairwise_distance(
    query: object,
    gallery: object,
    *,
    metric: str = "euclidean",
    squared: bool = True,
    block_size: int = 4096,
    device: str | torch.device | None = "auto",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``(Q, D) x (G, D) -> (Q, G)`` distances; see the module docstring for the metrics."""
    q, g = query_gallery_tensors(query, gallery, metric=metric, device=device, dtype=dtype)
    dev = q.device
    if metric == "cosine":
        q = torch.nn.functional.normalize(q, dim=1)
        g = torch.nn.functional.normalize(g, dim=1)
    out = torch.empty(q.shape[0], g.shape[0], device=dev, dtype=dtype)  # (Q, G)
    g_sq = (g * g).sum(dim=1)  # (G,)
    for start in range(0, q.shape[0], block_size):
        qb = q[start : start + block_size]  # (B, D)
        block = out[start : start + block_size]  # (B, G) view into the result
        torch.mm(qb, g.t(), out=block)
        if metric == "cosine":
            block.neg_().add_(1.0)
        else:
            block.mul_(-2.0).add_(g_sq[None, :]).add_((qb * qb).sum(dim=1, keepdim=True)).clamp_(min=0.0)
            if not squared:
                block.sqrt_()
    return out
