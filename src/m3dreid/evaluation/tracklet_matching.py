"""Tracklet matching: every tracklet is a query against all the others (its own row left out).

What ``search`` does for a user: "find the other appearances of this person" over tracklets whose identities are
known only to the evaluation (a synthetic scene's ``scene.json``, a benchmark's ground truth). A query whose person
appears in no other tracklet is skipped. AP is the standard one (precision averaged at the ranks of the matches).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["tracklet_matching"]


def tracklet_matching(feats: np.ndarray, persons: Sequence[int], *, metric: str = "euclidean") -> dict[str, float]:
    """``{"mAP", "rank1", "queries"}`` of ``(N, D)`` features whose true identities are ``persons``."""
    x = np.asarray(feats, np.float64)
    persons = np.asarray(persons)
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        dist = 1.0 - x @ x.T
    else:
        sq = (x**2).sum(1)
        dist = sq[:, None] + sq[None, :] - 2 * x @ x.T
    aps, top1 = [], []
    for i in range(len(x)):
        others = np.delete(np.arange(len(x)), i)
        match = persons[others] == persons[i]
        if not match.any():
            continue
        order = np.argsort(dist[i, others], kind="stable")
        hits = np.flatnonzero(match[order])
        aps.append(float(np.mean((np.arange(len(hits)) + 1) / (hits + 1))))
        top1.append(bool(match[order][0]))
    if not aps:
        return {"mAP": float("nan"), "rank1": float("nan"), "queries": 0}
    return {"mAP": float(np.mean(aps)), "rank1": float(np.mean(top1)), "queries": len(aps)}
