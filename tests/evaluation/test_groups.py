"""Per-group scores: mean AP of each identity kind's queries, hand-worked, and in `m3dreid eval`'s results."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from m3dreid.evaluation.groups import group_map, read_pid_kinds
from m3dreid.evaluation.rank import evaluate_rankings


def _groups_file(root, kinds: dict[int, str]) -> None:
    (root / "info").mkdir(parents=True, exist_ok=True)
    pids = {str(p): {"kind": k, "group": 0, "split": "test", "member": 0} for p, k in kinds.items()}
    (root / "info" / "groups.json").write_text(json.dumps({"pids": pids}))


def test_group_map_hand_worked(tmp_path):
    # 3 queries (pids 1, 2, 3 in camera 0), gallery pids [1, 2, 3, 9] in camera 1
    dist = np.array(
        [
            [0.1, 0.5, 0.6, 0.7],  # pid 1: its match first -> AP 1
            [0.1, 0.5, 0.6, 0.7],  # pid 2: its match second -> AP 1/2
            [0.1, 0.5, 0.6, 0.7],  # pid 3: its match third -> AP 1/3
        ]
    )
    result = evaluate_rankings(dist, np.array([1, 2, 3]), np.array([1, 2, 3, 9]), np.zeros(3, int), np.ones(4, int))
    assert result.mAP == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    _groups_file(tmp_path, {1: "motion", 2: "motion", 3: "appearance", 9: "appearance"})
    scores = group_map(result, [1, 2, 3], tmp_path)
    assert list(scores) == ["motion mAP", "appearance mAP"]
    assert scores["motion mAP"] == pytest.approx(0.75)
    assert scores["appearance mAP"] == pytest.approx(1 / 3)
    # weighted by query counts, the kinds average to the overall mAP
    assert (2 * scores["motion mAP"] + scores["appearance mAP"]) / 3 == pytest.approx(result.mAP)


def test_no_groups_file_means_no_group_scores(tmp_path):
    assert read_pid_kinds(tmp_path) == {}
    result = evaluate_rankings(np.zeros((1, 1)), np.array([1]), np.array([1]), np.zeros(1, int), np.ones(1, int))
    assert group_map(result, [1], tmp_path) == {}
    (tmp_path / "info").mkdir()
    (tmp_path / "info" / "groups.json").write_text('{"no pids": 1}')
    with pytest.raises(ValueError, match="groups.json: not a groups file"):
        read_pid_kinds(tmp_path)


def test_query_without_match_left_out_of_its_group(tmp_path):
    dist = np.array([[0.1, 0.2], [0.1, 0.2]])
    result = evaluate_rankings(dist, np.array([1, 5]), np.array([9, 1]), np.zeros(2, int), np.ones(2, int))
    _groups_file(tmp_path, {1: "rhythm", 5: "rhythm"})  # pid 5 has no gallery match: AP NaN
    assert group_map(result, [1, 5], tmp_path)["rhythm mAP"] == pytest.approx(0.5)
    _groups_file(tmp_path, {1: "rhythm", 5: "motion"})
    scores = group_map(result, [1, 5], tmp_path)
    assert math.isnan(scores["motion mAP"]) and scores["rhythm mAP"] == pytest.approx(0.5)
