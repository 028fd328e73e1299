"""Every table command end to end at ``tiny`` size: trains, evaluates, fuses, re-ranks, writes the paper layout.

One module-wide work folder, so runs shared between tables (ResNet50, M3D, ...) are trained once, as in real use.
Rows are reduced to keep the whole file within seconds; every row that ran must have every cell filled.
"""

import json
import re

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


def test_table4_stats_are_measured_once_and_kept_beside_the_run(work, monkeypatch, capsys):
    # runs after test_table_command_tiny[table4]: the second call reads every cell and figure from the cache
    from m3dreid.experiments import backend

    first = json.loads((work / "table4_synthetic.json").read_text())["extras"]

    def no_timing(*args, **kwargs):
        raise AssertionError("model_stats measured again")

    monkeypatch.setattr(backend, "model_stats", no_timing)
    monkeypatch.setattr(backend, "train", no_timing)
    argv = ["experiment", "table4", "--data", "synthetic", "--size", "tiny", "--seeds", "0", "--out", str(work)]
    argv += ["--root", str(work / "synthetic-tiny"), "--threads", "1", "--fps-seconds", "0.01", "--rows"]
    assert main([*argv, *ROWS["table4"]]) == 0
    again = json.loads((work / "table4_synthetic.json").read_text())["extras"]
    assert again == first and set(again["m3d"]) == {"params_mb", "params_mb_full", "fps"}
    capsys.readouterr()


def test_saliency_page_of_table3_runs(work, capsys):
    runs = json.loads((work / "table3_synthetic.json").read_text())["run_dirs"]
    out = work / "saliency"
    argv = ["experiment", "saliency", "--run", runs["resnet50"][0], "--run", runs["m3d"][0], "--count", "2"]
    assert main([*argv, "--frames", "6", "--out", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    for name in ("resnet50_2d", "m3d_resnet50"):
        assert re.search(rf"{name}: mean motion overlap [+-]\d\.\d{{3}}, lower share \d\.\d{{3}}", printed), printed
    assert sorted(p.name for p in out.glob("*.png")) == ["saliency_00.png", "saliency_01.png"]
    assert (out / "index.html").read_text().count("<img") == 2


def test_docs_saliency_scores_every_seed_of_table3(work, tmp_path):
    from m3dreid.experiments.saliency_report import saliency_for_docs

    runs = json.loads((work / "table3_synthetic.json").read_text())["run_dirs"]
    twice = {"run_dirs": {key: runs[key] * 2 for key in ("resnet50", "m3d")}}  # two "seeds" that are one run
    figure, values = saliency_for_docs(twice, tmp_path, count=2, frames=6)
    assert figure == tmp_path / "saliency" / "saliency_00.png" and figure.is_file()
    assert list(values) == ["ResNet50", "M3D (local + global)"]
    for scores in values.values():
        assert len(scores["motion_overlap"]) == len(scores["lower_share"]) == 2
        assert scores["lower_share"][0] == pytest.approx(scores["lower_share"][1], abs=1e-9)  # same run, same clips


def test_docs_page_has_tables_claims_plots_and_saliency(work):
    # `experiment docs` at tiny size for Table III: reuses the runs of the table test above when the data match.
    out = work / "docs"
    argv = ["experiment", "docs", "--size", "tiny", "--seeds", "0", "--tables", "table3", "--out", str(out)]
    assert main([*argv, "--work", str(work), "--root", str(work / "synthetic-tiny"), "--threads", "1"]) == 0
    page = (out / "results.md").read_text()
    assert page.startswith("# Results\n\nGenerated by `m3dreid experiment docs")
    assert "## table3: Evaluation of the individual components of M3D" in page
    assert "Not generated in this run: table1, table2, table4, table5, datasets" in page
    assert page.count("| m3d_gelu >= max(local_m3d, global_m3d_gelu) |") == 2  # mAP and R1 rows
    assert "| M3D + GELU global (ours) |" in page and "Rows marked (ours) are not in the paper" in page
    assert (out / "results" / "table3_synthetic.png").stat().st_size > 0
    saliency = page[page.index("## Saliency") :]
    names = r"(ResNet50|M3D \(local \+ global\)|M3D \+ GELU global \(ours\))"
    scores = re.findall(names + r" (-?\d\.\d{3})", saliency)  # one seed: single values (motion overlap, lower share)
    rows = ["ResNet50", "M3D (local + global)", "M3D + GELU global (ours)"]
    assert [name for name, _ in scores] == rows * 2
    assert all(0.0 <= float(v) <= 1.0 for _, v in scores[3:])  # lower shares are fractions
    assert (out / "results" / "saliency" / "saliency_00.png").is_file()
