"""Paper numbers: each sits on a real cell of a table, and the derived ones follow from the stated differences."""

import pytest

from m3dreid.experiments.paper import PAPER_VALUES, paper_value
from m3dreid.experiments.tables import TABLES


def test_every_paper_value_is_a_cell_of_its_table():
    for (table, dataset, row, metric), value in PAPER_VALUES.items():
        spec = TABLES[table]
        assert dataset in spec.datasets, (table, dataset)
        assert row in {r.key for r in spec.rows}, (table, row)
        assert metric in spec.metrics + spec.extras, (table, metric)
        assert value.line > 0 and value.quote


def test_derived_values_follow_from_the_stated_differences():
    base = paper_value("table3", "mars", "resnet50", "mAP").value
    assert base == 62.54
    assert paper_value("table3", "mars", "local_m3d", "mAP").value == pytest.approx(base + 10.30)
    m3d = paper_value("table4", "mars", "m3d", "mAP").value
    assert m3d == pytest.approx(base + 16.10)  # "outperforms 2D CNN ... by 16.10% mAP": consistent with 78.64
    assert paper_value("table4", "mars", "p3d_c", "mAP").value == pytest.approx(m3d - 9.58)
    assert paper_value("table4", "mars", "m3d", "params_mb").value == pytest.approx(186 - 76)
    assert paper_value("table1", "mars", "n1", "mAP").value == 67.35
    assert paper_value("datasets", "mars", "two_stream_rerank", "mAP").value == 85.46
    assert paper_value("table3", "duke_video", "m3d", "mAP") is None  # not in the extracted text


def test_paper_value_counts():
    assert len(PAPER_VALUES) == 27
    derived = [k for k, v in PAPER_VALUES.items() if v.derived]
    assert len(derived) == 5
