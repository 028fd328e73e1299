"""A "same person?" distance threshold estimated on an index's own tracklets, with no labels.

Two kinds of pairs the footage labels by itself:

- **same person**: the first and second half of one tracklet (embedded separately). One track is one person.
- **different people**: two tracklets of the same video whose frame ranges overlap. The tracker never gives one
  person two tracks at once, so two tracks seen in the same frame are two people.

The threshold is the distance that best separates the two sets (lowest balanced error: the mean of the share of
same-person pairs above it and of different-people pairs at or below it). Caveat, said wherever the cue is shown:
both kinds of pairs come from one camera, so the same person seen by another camera (other light, other pose) lies
further away than the halves of one track; the cue is a hint, not a verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from m3dreid.data.base import Tracklet

__all__ = ["different_people_pairs", "split_halves", "estimate_threshold", "same_person_record"]

log = logging.getLogger(__name__)

MIN_HALF = 2  # frames in each half: a tracklet shorter than 2 * MIN_HALF gives no same-person pair


def different_people_pairs(meta: Sequence[dict]) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of tracklets from the same source folder whose frame ranges overlap."""
    pairs = []
    for i, a in enumerate(meta):
        for j in range(i + 1, len(meta)):
            b = meta[j]
            overlap = a["first_frame"] <= b["last_frame"] and b["first_frame"] <= a["last_frame"]
            if overlap and a["source"] == b["source"]:
                pairs.append((i, j))
    return pairs


def split_halves(tracklets: Sequence[Tracklet]) -> tuple[list[Tracklet], list[int]]:
    """First and second halves (interleaved: ``[first_0, second_0, first_1, ...]``) of every tracklet long enough,
    and the positions of those tracklets."""
    halves, used = [], []
    for i, t in enumerate(tracklets):
        n = len(t.frames)
        if n < 2 * MIN_HALF:
            continue
        halves += [Tracklet(frames=t.frames[: n // 2], pid=t.pid, camid=t.camid),
                   Tracklet(frames=t.frames[n // 2 :], pid=t.pid, camid=t.camid)]  # fmt: skip
        used.append(i)
    return halves, used


def estimate_threshold(same: np.ndarray, different: np.ndarray) -> tuple[float, float]:
    """``(threshold, balanced error)``: the cut between the two distance sets with the lowest balanced error.

    Candidates are midpoints between consecutive sorted distances (and the two ends), so the threshold never sits on
    a measured distance. Hand-worked: same ``[1, 2]``, different ``[4, 5]`` -> ``(3.0, 0.0)``.
    """
    same, different = np.sort(np.asarray(same, np.float64)), np.sort(np.asarray(different, np.float64))
    if same.size == 0 or different.size == 0:
        raise ValueError("estimate_threshold needs at least one distance of each kind")
    values = np.unique(np.r_[same, different])  # (V,)
    candidates = np.r_[values[0] - 1.0, (values[1:] + values[:-1]) / 2.0, values[-1] + 1.0]
    miss = same.size - np.searchsorted(same, candidates, side="right")  # same-person pairs above the cut
    false = np.searchsorted(different, candidates, side="right")  # different-people pairs at or below it
    error = miss * different.size + false * same.size  # balanced error x 2 |same| |different|, exact in integers
    best = int(np.argmin(error))  # first minimum: the lowest such threshold, the cautious side
    return float(candidates[best]), float(error[best] / (2.0 * same.size * different.size))


def same_person_record(
    tracklets: Sequence[Tracklet],
    meta: Sequence[dict],
    features: np.ndarray,
    *,
    embed: Callable[[list[Tracklet]], np.ndarray],
    distance: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> dict:
    """The ``info["same_person"]`` record of an index: threshold (or None, with the reason), pair counts, error.

    ``features`` are the index's ``(N, D)`` tracklet features; ``embed`` maps tracklets to ``(M, D)`` features the same
    way (it embeds the halves); ``distance(a, b)`` gives the row-wise distance of two ``(M, D)`` arrays, the index's.
    """
    halves, used = split_halves(tracklets)
    pairs = different_people_pairs(meta)
    record: dict = {"threshold": None, "same_pairs": len(used), "different_pairs": len(pairs),
                    "method": "halves of one track vs tracks seen in the same frames"}  # fmt: skip
    if not used or not pairs:
        record["reason"] = (
            "no tracklet of at least 4 frames" if not used else "no two tracks of one video seen in the same frames"
        )
        log.info("same-person threshold: not estimated (%s)", record["reason"])
        return record
    half_feats = embed(halves)  # (2U, D)
    same = distance(half_feats[0::2], half_feats[1::2])  # (U,)
    i, j = np.asarray(pairs).T
    different = distance(features[i], features[j])  # (P,)
    threshold, error = estimate_threshold(same, different)
    record.update(threshold=threshold, balanced_error=error, same_median=float(np.median(same)),
                  different_median=float(np.median(different)))  # fmt: skip
    log.info("same-person threshold %.4g (balanced error %.3f on %d same / %d different pairs)",
             threshold, error, len(same), len(different))  # fmt: skip
    return record
