"""Training losses: softmax cross-entropy (the paper's only loss) and an optional batch-hard triplet term.

The model returns ``(features, logits)`` in training; the loss sees both so that one loop serves every model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["batch_hard_triplet_loss", "ReIDLoss", "build_loss"]

LOSSES = ("softmax", "triplet", "softmax+triplet")


def batch_hard_triplet_loss(features: torch.Tensor, pids: torch.Tensor, *, margin: float) -> torch.Tensor:
    """Hermans et al. 2017: for each anchor, the farthest positive and the closest negative in the batch.

    Anchors without a positive or without a negative in the batch are left out (a P x K sampler with K >= 2 gives
    every anchor both); a batch with no valid anchor gives a zero loss that still carries a gradient.
    """
    features = features.float()  # (B, D)
    dist = torch.cdist(features, features).clamp_min(1e-12)  # (B, B)
    same = pids[:, None] == pids[None, :]  # (B, B)
    eye = torch.eye(len(pids), dtype=torch.bool, device=pids.device)
    positive = same & ~eye
    negative = ~same
    valid = positive.any(1) & negative.any(1)  # (B,)
    if not valid.any():
        return features.sum() * 0.0
    hardest_pos = dist.masked_fill(~positive, float("-inf")).amax(1)  # (B,)
    hardest_neg = dist.masked_fill(~negative, float("inf")).amin(1)  # (B,)
    return F.relu(hardest_pos - hardest_neg + margin)[valid].mean()


class ReIDLoss(nn.Module):
    """Weighted sum of cross-entropy on the logits and batch-hard triplet on the features.

    ``forward`` returns the total loss and a dict of its detached parts for logging.
    """

    def __init__(self, *, kind: str = "softmax", triplet_margin: float = 0.3, triplet_weight: float = 1.0) -> None:
        super().__init__()
        if kind not in LOSSES:
            raise ValueError(f"unknown loss '{kind}'; known: {', '.join(LOSSES)}")
        self.use_softmax = "softmax" in kind
        self.use_triplet = "triplet" in kind
        self.margin = triplet_margin
        self.triplet_weight = triplet_weight

    def forward(
        self, features: torch.Tensor, logits: torch.Tensor | None, pids: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total = features.new_zeros((), dtype=torch.float32)
        parts: dict[str, float] = {}
        if self.use_softmax:
            if logits is None:
                raise ValueError("softmax loss needs logits: the model has no classifier (num_classes=0?)")
            ce = F.cross_entropy(logits.float(), pids)
            total = total + ce
            parts["ce"] = ce.detach()
        if self.use_triplet:
            tri = batch_hard_triplet_loss(features, pids, margin=self.margin)
            total = total + self.triplet_weight * tri
            parts["triplet"] = tri.detach()
        return total, parts


def build_loss(*, kind: str, triplet_margin: float = 0.3, triplet_weight: float = 1.0) -> ReIDLoss:
    return ReIDLoss(kind=kind, triplet_margin=triplet_margin, triplet_weight=triplet_weight)
