"""How well predicted tracks cover known ones: recall, precision and identity switches (CLEAR-MOT counting).

Each frame, ground-truth and predicted boxes are matched one-to-one by the Hungarian algorithm on IoU (pairs below
``iou_threshold`` do not count). A ground-truth track that keeps its previous predicted partner when that partner is
still available keeps it (as CLEAR-MOT does), and an identity switch is counted whenever a ground-truth track is
matched to a different predicted id than at its last match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from m3dreid.video.boxes import iou_matrix
from m3dreid.video.mot import MotTable

__all__ = ["TrackMetrics", "track_metrics"]


@dataclass(frozen=True)
class TrackMetrics:
    gt_boxes: int
    pred_boxes: int
    matches: int
    id_switches: int
    recall: float
    precision: float
    mota: float
    idf1: float  # identity F1: boxes whose predicted id is the one globally assigned to their true id


def track_metrics(gt: MotTable, pred: MotTable, *, iou_threshold: float = 0.5) -> TrackMetrics:
    gt_rows, pred_rows = gt.rows_by_frame(), pred.rows_by_frame()
    last_partner: dict[int, int] = {}
    matches = switches = 0
    for frame in sorted(gt_rows):
        g = gt_rows[frame]
        p = pred_rows.get(frame, np.zeros(0, dtype=np.int64))
        if p.size == 0:
            continue
        iou = iou_matrix(gt.boxes[g], pred.boxes[p])  # (G, P)
        g_ids, p_ids = gt.ids[g], pred.ids[p]
        # Keep last frame's pairs that still overlap enough, then match the rest.
        pairs: list[tuple[int, int]] = []
        for gi, gid in enumerate(g_ids):
            partner = last_partner.get(int(gid))
            hits = np.flatnonzero(p_ids == partner) if partner is not None else []
            if len(hits) and iou[gi, hits[0]] >= iou_threshold:
                pairs.append((gi, int(hits[0])))
        used_g, used_p = {a for a, _ in pairs}, {b for _, b in pairs}
        free_g = [i for i in range(len(g)) if i not in used_g]
        free_p = [j for j in range(len(p)) if j not in used_p]
        if free_g and free_p:
            sub = iou[np.ix_(free_g, free_p)]
            rows, cols = linear_sum_assignment(-sub)
            pairs += [(free_g[r], free_p[c]) for r, c in zip(rows, cols, strict=True) if sub[r, c] >= iou_threshold]
        for gi, pj in pairs:
            gid, pid = int(g_ids[gi]), int(p_ids[pj])
            if gid in last_partner and last_partner[gid] != pid:
                switches += 1
            last_partner[gid] = pid
        matches += len(pairs)
    n_gt, n_pred = len(gt), len(pred)
    idtp = _identity_true_positives(gt, pred, gt_rows, pred_rows, iou_threshold)
    return TrackMetrics(
        gt_boxes=n_gt,
        pred_boxes=n_pred,
        matches=matches,
        id_switches=switches,
        recall=matches / n_gt if n_gt else 0.0,
        precision=matches / n_pred if n_pred else 0.0,
        mota=1.0 - ((n_gt - matches) + (n_pred - matches) + switches) / n_gt if n_gt else 0.0,
        idf1=2.0 * idtp / (n_gt + n_pred) if n_gt + n_pred else 0.0,
    )


def _identity_true_positives(gt, pred, gt_rows, pred_rows, iou_threshold: float) -> int:
    """IDF1's IDTP: match whole true ids to whole predicted ids (one-to-one) to maximise co-located boxes."""
    g_ids, p_ids = np.unique(gt.ids), np.unique(pred.ids)
    if g_ids.size == 0 or p_ids.size == 0:
        return 0
    overlap = np.zeros((g_ids.size, p_ids.size), dtype=np.int64)  # (G, P) frames where the two ids coincide
    for frame, g in gt_rows.items():
        p = pred_rows.get(frame)
        if p is None:
            continue
        gi, pj = np.nonzero(iou_matrix(gt.boxes[g], pred.boxes[p]) >= iou_threshold)
        np.add.at(overlap, (np.searchsorted(g_ids, gt.ids[g][gi]), np.searchsorted(p_ids, pred.ids[p][pj])), 1)
    rows, cols = linear_sum_assignment(-overlap)
    return int(overlap[rows, cols].sum())
