"""From saved features to metrics: distance (or re-ranked distance), then CMC / mAP / mINP under the dataset's rules.

The one entry point the ``eval`` / ``rerank`` commands and the engine share, so that a result computed at the end of
training and one recomputed later from ``features.npz`` are the same numbers.
"""

from __future__ import annotations

import logging

import torch

from m3dreid.evaluation.distance import pairwise_distance
from m3dreid.evaluation.features import FeatureSet
from m3dreid.evaluation.rank import RankingResult, evaluate_rankings
from m3dreid.evaluation.rerank import k_reciprocal_rerank
from m3dreid.utils.device import resolve_device

__all__ = ["evaluate_features", "eval_settings"]

log = logging.getLogger(__name__)


def eval_settings(eval_config) -> dict:
    """The ``evaluate_features`` keywords an ``EvalConfig`` sets (distance, re-ranking parameters, max rank)."""
    ev = eval_config
    return {"metric": ev.distance, "k1": ev.k1, "k2": ev.k2, "lambda_value": ev.lambda_value, "max_rank": ev.max_rank}


def evaluate_features(
    features: FeatureSet,
    *,
    metric: str = "euclidean",
    rerank: bool = False,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    max_rank: int = 20,
    ap_definition: str | None = None,
    device: str | torch.device | None = "auto",
) -> RankingResult:
    """Rank the gallery for every query and measure; ``ap_definition=None`` uses the dataset's own definition."""
    dev = resolve_device(device)
    q = torch.as_tensor(features.q_feats, device=dev, dtype=torch.float32)
    g = torch.as_tensor(features.g_feats, device=dev, dtype=torch.float32)
    if rerank:
        dist = k_reciprocal_rerank(q, g, k1=k1, k2=k2, lambda_value=lambda_value, metric=metric)
    else:
        dist = pairwise_distance(q, g, metric=metric)
    result = evaluate_rankings(
        dist,
        features.q_pids,
        features.g_pids,
        features.q_camids,
        features.g_camids,
        max_rank=max_rank,
        junk_pids=features.junk_pids,
        ap_definition=ap_definition or features.ap_definition,
    )
    if result.num_no_match:
        log.warning(
            "%d of %d queries have no valid gallery match; they are left out of the averages",
            result.num_no_match,
            result.num_queries,
        )
    return result
