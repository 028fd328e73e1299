"""Per-group scores: mAP over the queries of each identity kind, for data sets that define identity groups.

A data set defines groups with ``info/groups.json`` (both synthetic families write it): ``{"pids": {pid: {"kind":
..., "group": ..., ...}}}``. The score of a kind is the mean AP of the queries whose pid has that kind, from the
same ranking as the overall score (so the per-kind scores, weighted by their query counts, average to the overall
mAP when every query has a kind).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["GROUPS_FILE", "read_pid_kinds", "group_map"]

GROUPS_FILE = "info/groups.json"


def read_pid_kinds(root: str | Path) -> dict[int, str]:
    """pid -> kind from ``root/info/groups.json``; empty when the data set defines no groups."""
    path = Path(root) / GROUPS_FILE
    if not path.is_file():
        return {}
    try:
        pids = json.loads(path.read_text())["pids"]
        return {int(pid): str(rec["kind"]) for pid, rec in pids.items()}
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a groups file ({err.__class__.__name__}: {err})") from None


def group_map(result, q_pids, root: str | Path) -> dict[str, float]:
    """``{"<kind> mAP": mean AP of that kind's queries}`` (fractions), in first-seen kind order; {} without groups.

    ``result`` is a :class:`~m3dreid.evaluation.rank.RankingResult` whose ``ap`` has one entry per query (NaN for a
    query without a valid match, left out as in the overall mAP).
    """
    kinds = read_pid_kinds(root)
    if not kinds:
        return {}
    q_kinds = np.array([kinds.get(int(pid), "") for pid in q_pids])
    ap = np.asarray(result.ap, np.float64)
    out = {}
    for kind in dict.fromkeys(q_kinds):
        if kind:
            sel = (q_kinds == kind) & ~np.isnan(ap)
            out[f"{kind} mAP"] = float(ap[sel].mean()) if sel.any() else float("nan")
    return out
