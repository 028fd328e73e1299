"""Every table command end to end at ``tiny`` size: trains, evaluates, fuses, re-ranks, writes the paper layout.

One module-wide work folder, so runs shared between tables (ResNet50, M3D, ...) are trained once, as in real use.
Rows are reduced to keep the whole file within seconds; every row that ran must have every cell filled.
"""

import json

import pytest

from m3dreid.cli import main
from m3dreid.experiments import TABLES
from m3dreid.experiments.writer import is_missing

ROWS = {
    "table1": ["n0", "n1", "n3"],
    "table2": ["n0", "n1", "n3"],
    "table3": None,  # all rows: 2D, local, global, local + global, two-stream
    "table4": ["resnet50", "i3d", "m3d"],
    "table5": ["resnet50", "lstm", "m3d"],
    "datasets": None,  # all rows, including two-stream + re-ranking
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("experiments")


def _table_rows(path):
    lines = [line for line in path.read_text().splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines]


@pytest.mark.parametrize("name", ["table3", "datasets", "table1", "table2", "table4", "table5"])
def test_table_command_tiny(name, work, capsys):
    spec = TABLES[name]
    argv = ["experiment", name, "--data", "synthetic", "--size", "tiny", "--seeds", "0", "--out", str(work)]
    argv += ["--root", str(work / "synthetic-tiny"), "--threads", "1", "--fps-seconds", "0.01"]
    if ROWS[name]:
        argv += ["--rows", *ROWS[name]]
    assert main(argv) == 0
    assert "written:" in capsys.readouterr().out

    result = json.loads((work / f"{name}_synthetic.json").read_text())
    ran = ROWS[name] or [r.key for r in spec.rows]
    assert result["rows"] == ran and result["seeds"] == [0]
    for key in ran:
        assert set(result["cells"][key]) == set(spec.metrics)
        assert all(len(v) == 1 and 0.0 <= v[0] <= 100.0 for v in result["cells"][key].values())

    rows = _table_rows(work / f"{name}_synthetic.md")
    header, body = rows[0], rows[2 : 2 + len(spec.rows)]
    extras = len(spec.extras) + ("params_mb" in spec.extras)  # synthetic adds the full-size parameter column
    assert len(header) == 1 + 2 * len(spec.metrics) + extras + len(spec.extras)
    assert [r[0] for r in body] == [r.label for r in spec.rows]
    labels = {spec.row(k).label for k in ran}
    for row in body:
        assert len(row) == len(header)
        assert any(is_missing(c) for c in row) == (row[0] not in labels), row
    if any({c.better, *c.worse} <= set(ran) for c in spec.claims):
        assert "Holds in seeds" in (work / f"{name}_synthetic.md").read_text()


def test_saliency_page_of_table3_runs(work, capsys):
    runs = json.loads((work / "table3_synthetic.json").read_text())["run_dirs"]
    out = work / "saliency"
    argv = ["experiment", "saliency", "--run", runs["resnet50"][0], "--run", runs["m3d"][0], "--count", "2"]
    assert main([*argv, "--frames", "6", "--out", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "resnet50_2d: mean motion overlap" in printed and "m3d_resnet50: mean motion overlap" in printed
    assert sorted(p.name for p in out.glob("*.png")) == ["saliency_00.png", "saliency_01.png"]
    assert (out / "index.html").read_text().count("<img") == 2
