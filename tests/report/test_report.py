"""Run folders -> results.json merge, markdown table, and an HTML report with its PNGs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from m3dreid.evaluation.features import FeatureSet, save_features
from m3dreid.evaluation.rank import evaluate_rankings
from m3dreid.report import build_report, read_results, read_run, results_markdown, write_results
from m3dreid.report.ranked import ranked_gallery


def _result(seed: int):
    rng = np.random.default_rng(seed)
    dist = rng.random((4, 9))
    return evaluate_rankings(dist, [0, 1, 2, 3], [0, 1, 2, 3, 0, 1, 2, 3, 9], [0] * 4, [1] * 9, max_rank=5)


def _write_log(run, rows=6):
    lines = ["epoch,iter,loss,acc,lr,frames_per_s"]
    lines += [f"{i // 3},{i},{2.0 - 0.2 * i},{0.1 * i},0.01,{100 + i}" for i in range(rows)]
    (run / "train_log.csv").write_text("\n".join(lines) + "\n")


def _frames_and_features(tmp_path):
    """Two identities drawn as solid colours on disk, features = colour, one junk gallery item."""
    paths = {}
    for name, colour in (("red", (0, 0, 255)), ("green", (0, 255, 0)), ("blue", (255, 0, 0))):
        frame = np.zeros((16, 8, 3), np.uint8)
        frame[:] = colour
        p = tmp_path / "frames" / f"{name}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), frame)
        paths[name] = str(p)
    g_names = ["red", "green", "blue", "red"]
    vec = {"red": [1, 0, 0], "green": [0, 1, 0], "blue": [0, 0, 1]}
    return FeatureSet(
        q_feats=np.array([vec["red"], vec["green"]], np.float32),
        g_feats=np.array([vec[n] for n in g_names], np.float32) + 0.01 * np.arange(4)[:, None],
        q_pids=np.array([1, 2]),
        g_pids=np.array([1, 2, 3, 1]),
        q_camids=np.array([0, 0]),
        g_camids=np.array([1, 1, 1, 0]),  # the last red item shares the query's camera: junk
        q_lengths=np.array([2, 2]),
        g_lengths=np.array([2, 2, 2, 2]),
        q_paths=np.array([[paths["red"]] * 2, [paths["green"]] * 2]),
        g_paths=np.array([[paths[n], ""] for n in g_names]),
    )


def test_write_results_merges_labels_atomically(tmp_path):
    run = tmp_path / "m3d"
    write_results(run, _result(0), label="euclidean", extra={"metric": "euclidean", "rerank": False})
    write_results(run, _result(1), label="euclidean+rerank")
    data = read_results(run)
    assert data["run"] == "m3d"
    assert list(data["results"]) == ["euclidean", "euclidean+rerank"]
    entry = data["results"]["euclidean"]
    assert entry["metric"] == "euclidean" and entry["rerank"] is False
    assert len(entry["cmc"]) == 5 and entry["num_queries"] == 4
    assert entry["mAP"] == pytest.approx(_result(0).mAP)
    assert not list(run.glob("*.tmp"))
    (run / "results.json").write_text("{broken")
    with pytest.raises(ValueError, match="results.json: not valid JSON"):
        read_results(run)


def test_ranked_gallery_leaves_junk_out(tmp_path):
    fs = _frames_and_features(tmp_path)
    assert ranked_gallery(fs, 0, top_k=3) == [0, 1, 2]  # gallery 3 (red, same camera) is junk
    assert ranked_gallery(fs, 1, top_k=1) == [1]


def test_build_report_two_runs(tmp_path):
    a, b = tmp_path / "runs" / "two_d", tmp_path / "runs" / "m3d"
    write_results(a, _result(0), label="euclidean")
    write_results(b, _result(1), label="euclidean", run_name="M3D")
    _write_log(a)
    _write_log(b, rows=2)
    save_features(_frames_and_features(tmp_path), b / "features.npz")
    (b / "config.yaml").write_text("model:\n  name: m3d_resnet50\ndata:\n  dataset: synthetic\n")

    page = build_report([a, b], tmp_path / "report", num_queries=2, top_k=3)
    text = page.read_text()
    out = tmp_path / "report"
    for name in ("cmc.png", "train_two_d.png", "train_M3D.png", "ranked_M3D.png"):
        assert (out / name).is_file(), name
        assert f'src="{name}"' in text
    assert not (out / "ranked_two_d.png").exists() and "No <code>features.npz</code>" in text
    assert "m3d_resnet50" in text
    ranked = cv2.imread(str(out / "ranked_M3D.png"))
    # 2 query rows of (64 + 2*3 border + 8 gap) px; 1 query strip + 3 gallery strips of 4 frames x 32 px + borders
    assert ranked.shape[0] == 2 * (64 + 6 + 8)
    assert ranked.shape[1] == 4 * (4 * 32 + 6) + 16 + 3 * 8
    # the first gallery strip of query 0 is the red match: its border is green (BGR)
    x0 = (4 * 32 + 6) + 16
    np.testing.assert_array_equal(ranked[1, x0 + 1], (40, 170, 40))

    table = results_markdown([read_run(a), read_run(b)])
    lines = table.splitlines()
    assert len(lines) == 4 and lines[3].startswith("| M3D | euclidean |")
    assert f"{100 * _result(1).mAP:.1f}" in lines[3]
    assert json.loads((b / "results.json").read_text())["run"] == "M3D"


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        build_report([tmp_path / "empty"], tmp_path / "out")
