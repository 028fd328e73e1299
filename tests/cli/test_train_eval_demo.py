"""`m3dreid demo`, `train --resume` and `eval` end to end on the tiny synthetic set (32x16 frames, 2 steps a run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m3dreid.cli import main
from m3dreid.engine import LAST_NAME, PREV_NAME, load_training_state

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SMALL = ["data.height=32", "data.width=16", "data.seq_len=4", "data.ids_per_batch=3", "train.epochs=1",
         "train.iters_per_epoch=2", "model.embed_dim=16"]  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    argv = ["demo", "--out", str(out), "--size", "tiny", "--jobs", "1", "--configs", str(CONFIGS)]
    for item in SMALL:
        argv += ["--set", item]
    assert main(argv) == 0
    return out


def test_demo_writes_three_runs_a_report_and_the_table(demo_dir, capsys):
    for run in ("2d", "m3d", "two_stream"):
        results = json.loads((demo_dir / run / "results.json").read_text())["results"]
        assert {"euclidean", "euclidean (torchreid protocol)"} <= set(results)
        assert results["euclidean"]["num_queries"] == 54  # tiny: 9 test ids x 2 cameras x 3 kinds
    assert load_training_state(demo_dir / "m3d" / LAST_NAME)["global_step"] == 2
    assert (demo_dir / "two_stream" / "model.pt").is_file()
    assert (demo_dir / "report" / "index.html").is_file()


def test_train_resume_continues_the_demo_run(demo_dir, capsys):
    run = demo_dir / "2d"
    argv = ["train", "-c", str(run / "config.yaml"), "--set", "train.epochs=2", "--resume"]
    assert main(argv) == 0
    assert "trained 2 epochs (4 steps)" in capsys.readouterr().out
    assert load_training_state(run / LAST_NAME)["epoch"] == 2
    assert load_training_state(run / PREV_NAME)["epoch"] == 1
    rows = (run / "train_log.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in rows[1:]] == [["1", "2"], ["2", "4"]]


def test_eval_command_reads_the_checkpoint_from_the_config(demo_dir, capsys, tmp_path):
    run = demo_dir / "m3d"
    argv = ["eval", "-c", str(run / "config.yaml"), "--set", f"model.checkpoint={run / LAST_NAME}"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| euclidean |" in out and "(torchreid protocol)" in out
    assert (tmp_path / "features.npz").is_file()
    # the synthetic set defines identity groups: per-group mAP printed and kept, weighted they give the overall mAP
    assert "per identity group" in out and "| motion mAP | rhythm mAP | appearance mAP |" in out
    entry = json.loads((tmp_path / "results.json").read_text())["results"]["euclidean"]
    assert sum(entry["groups"].values()) / 3 == pytest.approx(entry["mAP"])  # 18 queries of each kind
    # the run's own config finds the run's own checkpoint (output_dir/last.pt)
    assert main(["eval", "-c", str(run / "config.yaml"), "--out", str(tmp_path / "own"), "--threads", "1"]) == 0
    assert (tmp_path / "own" / "features.npz").is_file()
    capsys.readouterr()
    empty = ["--set", f"output_dir={tmp_path / 'empty'}"]
    assert main(["eval", "-c", str(run / "config.yaml"), *empty, "--out", str(tmp_path)]) == 2
    assert "set model.checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("rank", [0, 1])
def test_train_reports_on_rank_zero_only(rank, monkeypatch, capsys, tmp_path):
    # Under torchrun every rank runs the command; the summary line (and --eval) belong to rank 0 alone.
    import m3dreid.engine.run as engine_run
    from m3dreid.engine.trainer import TrainResult

    fake = TrainResult(epochs_done=1, global_step=2, checkpoint=None, last_loss=0.5, last_acc=0.25)
    monkeypatch.setattr(engine_run, "train_from_config", lambda config, **kwargs: fake)
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "-c", str(CONFIGS / "cpu_demo_2d.yaml"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert ("trained 1 epochs (2 steps)" in out) == (rank == 0)
