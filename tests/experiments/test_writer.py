"""Table writer: cells are mean +- std over seeds, the layout follows the spec, claims are paired per seed."""

import numpy as np
import pytest

from m3dreid.experiments import TABLES, claims_markdown, format_cell, table_markdown
from m3dreid.experiments.writer import NA, claim_margins, is_missing


def _rows(text):
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines]


def _result(spec, values):
    return {"cells": {r.key: {m: list(values[r.key]) for m in spec.metrics} for r in spec.rows}, "extras": {}}


def test_format_cell():
    assert format_cell([1.0, 2.0, 3.0]) == "2.0 ± 1.0"  # sample std (n - 1)
    assert format_cell([70.26]) == "70.3"
    assert format_cell(None) == "not run"
    assert format_cell([1.0, float("nan")]) == "nan"


def test_synthetic_table3_layout_and_paper_column():
    spec = TABLES["table3"]
    values = {
        "resnet50": [50, 52],
        "local_m3d": [60, 58],
        "global_m3d": [61, 63],
        "m3d": [62, 64],
        "two_stream": [70, 69],
        "global_m3d_gelu": [66, 64],
        "m3d_gelu": [67, 66],
        "two_stream_gelu": [72, 71],
    }
    rows = _rows(table_markdown(spec, {"synthetic": _result(spec, values)}, synthetic=True))
    assert rows[0] == ["Method", "Synthetic mAP", "Synthetic R1", "Paper MARS mAP", "Paper MARS R1"]
    assert len(rows) == 2 + len(spec.rows)
    body = {r[0]: r[1:] for r in rows[2:]}
    assert body["ResNet50"] == ["51.0 ± 1.4", "51.0 ± 1.4", "62.54", NA]
    assert body["Local M3D"][2] == "72.84*"  # derived from "+10.30 mAP"
    assert body["Two-stream"][2:] == ["79.46", "88.63"]
    assert body["Global M3D + GELU (ours)"] == ["65.0 ± 1.4", "65.0 ± 1.4", NA, NA]  # not a paper row
    assert not any(is_missing(c) for r in rows[2:] for c in r)


def test_real_table_marks_datasets_not_run_and_paper_cells():
    spec = TABLES["table3"]
    values = {r.key: [60.0] for r in spec.rows}
    rows = _rows(table_markdown(spec, {"mars": _result(spec, values)}, synthetic=False))
    assert rows[0][1:] == ["MARS mAP", "MARS R1", "DukeMTMC-VideoReID mAP", "DukeMTMC-VideoReID R1"]
    m3d = next(r for r in rows if r[0].startswith("M3D"))
    assert m3d[1:] == ["60.0 (paper 78.64)", f"60.0 (paper {NA})", f"not run (paper {NA})", f"not run (paper {NA})"]


def test_table4_extras_columns():
    spec = TABLES["table4"]
    result = _result(spec, {r.key: [1.0] for r in spec.rows})
    result["extras"] = {r.key: {"params_mb": 2.0, "params_mb_full": 100.0, "fps": 50.0} for r in spec.rows}
    rows = _rows(table_markdown(spec, {"synthetic": result}, synthetic=True))
    assert rows[0][3:6] == ["Params (MB)", "Params, full size (MB)", "Frames/s"]
    assert rows[0][-2:] == ["Paper Params (MB)", "Paper Frames/s"]
    i3d = next(r for r in rows if r[0] == "I3D")
    assert i3d[3:6] == ["2.0", "100.0", "50.0"] and i3d[-2:] == ["186", NA]


def test_claims_are_paired_per_seed():
    spec = TABLES["table3"]
    values = {
        "resnet50": [50, 60],
        "local_m3d": [55, 59],
        "global_m3d": [52, 70],
        "m3d": [56, 70],
        "two_stream": [57, 71],
        "global_m3d_gelu": [58, 69],
        "m3d_gelu": [58, 72],
        "two_stream_gelu": [60, 75],
    }
    result = _result(spec, values)
    local = claim_margins(spec.claims[0], result["cells"], "mAP")
    np.testing.assert_allclose(local, [5, -1])
    both = claim_margins(spec.claims[2], result["cells"], "mAP")  # m3d >= max(local, global): ties hold
    np.testing.assert_allclose(both, [1, 0])
    rows = _rows(claims_markdown(spec, result))
    assert rows[2] == ["local_m3d > resnet50", "mAP", "yes (+2.00)", "1/2", "2.00 ± 4.24", "-1.00 .. +5.00"]
    # m3d (means 63) >= max(local 57, global 61); per seed: 56 vs max(55, 52), 70 vs max(59, 70)
    assert rows[6][:4] == ["m3d >= max(local_m3d, global_m3d)", "mAP", "yes (+2.00)", "2/2"]
    assert rows[7] == ["... m3d vs local_m3d", "mAP", "yes (+6.00)", "2/2", "6.00 ± 7.07", "+1.00 .. +11.00"]
    assert rows[8] == ["... m3d vs global_m3d", "mAP", "yes (+2.00)", "2/2", "2.00 ± 2.83", "+0.00 .. +4.00"]
    gelu = claim_margins(spec.claims[5], result["cells"], "mAP")  # m3d_gelu >= max(local_m3d, global_m3d_gelu)
    np.testing.assert_allclose(gelu, [0, 3])
    # two-stream (mean 64) > max(2D 55, local 57, global 61, m3d 63) on the mean; per seed 57 > 56 and 71 > 70;
    # a claim against k > 1 rows adds k per-row lines for each metric
    two = next(r for r in rows if r[0].startswith("two_stream >") and r[1] == "mAP")
    assert two[2:4] == ["yes (+1.00)", "2/2"]
    per_row = sum(len(c.worse) for c in spec.claims if len(c.worse) > 1)
    assert len(rows) == 2 + 2 * (len(spec.claims) + per_row)


@pytest.mark.parametrize("name", list(TABLES))
def test_every_table_renders_without_missing_cells(name):
    spec = TABLES[name]
    result = _result(spec, {r.key: [1.0, 2.0] for r in spec.rows})
    result["extras"] = {r.key: {"params_mb": 1.0, "params_mb_full": 9.0, "fps": 3.0} for r in spec.rows}
    rows = _rows(table_markdown(spec, {"synthetic": result}, synthetic=True))
    assert len(rows) == 2 + len(spec.rows) and len({len(r) for r in rows}) == 1
    assert not any(is_missing(c) for r in rows[2:] for c in r)
