"""Track-quality metrics (CLEAR-MOT recall / precision / MOTA / ID switches, and IDF1) on a hand-worked case."""

from m3dreid.video import MotTable, track_metrics

A, B, C = (0, 0, 10, 20), (100, 0, 10, 20), (200, 0, 10, 20)


def test_metrics_hand_worked():
    gt = MotTable.from_rows([(f, 1, *A, 1) for f in range(1, 5)] + [(f, 2, *B, 1) for f in range(1, 5)])
    pred = MotTable.from_rows(
        [(1, 10, *A, 1), (2, 10, *A, 1), (3, 11, *A, 1), (4, 11, *A, 1)]  # person 1: id 10, then 11 (a switch)
        + [(f, 12, *B, 1) for f in (1, 2, 3)]  # person 2: missed on frame 4
        + [(2, 13, *C, 1)]  # a false box
    )
    m = track_metrics(gt, pred)
    # 8 true boxes, 8 predicted, 7 matched: FN 1, FP 1, 1 ID switch -> MOTA 1 - 3/8
    assert (m.gt_boxes, m.pred_boxes, m.matches, m.id_switches) == (8, 8, 7, 1)
    assert (m.recall, m.precision, m.mota) == (7 / 8, 7 / 8, 1 - 3 / 8)
    # IDF1: one-to-one id matching, 1 <-> 10 (or 11) = 2 boxes, 2 <-> 12 = 3 boxes: IDTP 5, 2 * 5 / (8 + 8)
    assert m.idf1 == 10 / 16
