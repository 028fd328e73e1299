"""`m3dreid rerank` and `m3dreid report` on a saved feature file, through the CLI entry point."""

from __future__ import annotations

import json

import numpy as np

from m3dreid.cli import main
from m3dreid.evaluation.features import FeatureSet, save_features


def _features(seed: int = 0) -> FeatureSet:
    rng = np.random.default_rng(seed)
    pids = np.repeat(np.arange(10), 4)  # 10 ids x 4 tracklets, 2 cameras
    cams = np.tile([0, 1], 20)
    feats = rng.normal(size=(10, 8))[pids] + 0.3 * rng.normal(size=(40, 8))
    q = np.arange(0, 40, 4)  # one query per id
    g = np.setdiff1d(np.arange(40), q)
    return FeatureSet(
        q_feats=feats[q].astype(np.float32), g_feats=feats[g].astype(np.float32), q_pids=pids[q], g_pids=pids[g],
        q_camids=cams[q], g_camids=cams[g], q_lengths=np.ones(10, np.int64), g_lengths=np.ones(30, np.int64),
        q_paths=np.full((10, 2), ""), g_paths=np.full((30, 2), ""), ap_definition="mars_kit",
    )  # fmt: skip


def test_rerank_then_report(tmp_path, capsys):
    run = tmp_path / "run"
    save_features(_features(), run / "features.npz")
    assert main(["rerank", str(run), "--device", "cpu", "--set", "eval.k1=5", "--set", "eval.k2=2"]) == 0
    out = capsys.readouterr().out
    assert "| euclidean |" in out and "| euclidean+rerank |" in out and "mars_kit" in out
    results = json.loads((run / "results.json").read_text())["results"]
    assert set(results) == {"euclidean", "euclidean+rerank"}
    assert results["euclidean+rerank"]["k1"] == 5 and results["euclidean"]["num_valid_queries"] == 10

    assert main(["report", str(run), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "| run | euclidean+rerank |" in out
    assert (tmp_path / "rep" / "index.html").is_file() and (tmp_path / "rep" / "cmc.png").is_file()
    # frames are not on disk: the page says so instead of drawing empty strips
    assert "not on disk" in (tmp_path / "rep" / "index.html").read_text()


def test_rerank_names_a_missing_file(tmp_path, capsys):
    assert main(["rerank", str(tmp_path / "nowhere")]) == 2
    assert "nowhere/features.npz: feature file not found" in capsys.readouterr().err
