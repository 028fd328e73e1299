"""`m3dreid train` stopped for real, in a subprocess on the tiny synthetic set: SIGTERM saves the state after its
step (exit 143), SIGKILL loses only the steps after the last `train.checkpoint_every` checkpoint; `--resume` then
ends bit for bit where an uninterrupted run ends (weights, BatchNorm buffers, optimizer) with the same log rows."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from m3dreid.cli import main
from m3dreid.data.synthetic import make_synthetic
from m3dreid.engine import LAST_NAME, load_training_state

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SETS = ["data.height=32", "data.width=16", "data.seq_len=4", "data.ids_per_batch=3", "data.workers=0",
        "train.epochs=2", "train.iters_per_epoch=3", "train.log_every=1", "model.embed_dim=16"]  # fmt: skip

# Runs `m3dreid train` with one thread and sends SIG to itself inside training step AT (after BatchNorm has
# updated its statistics): a signal that arrives at the worst moment, at a step we choose.
CHILD = """
import os, signal, sys, torch
from m3dreid.engine.trainer import Trainer
torch.set_num_threads(1)
step, calls = Trainer._step, [0]
def stepped(self, clips, pids):
    calls[0] += 1
    if calls[0] == AT:
        os.kill(os.getpid(), SIG)
    return step(self, clips, pids)
Trainer._step = stepped
from m3dreid.cli import main
sys.exit(main(sys.argv[1:]))
"""

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("tiny") / "data", size="tiny", seed=0)


def _argv(data, run, *extra):
    argv = ["train", "-c", str(CONFIGS / "cpu_demo_2d.yaml"), "--out", str(run), "--set", f"data.root={data}"]
    for item in [*SETS, *extra]:
        argv += ["--set", item]
    return argv


def _child(argv, *, at, signum):
    code = CHILD.replace("AT", str(at)).replace("SIG", str(int(signum)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, timeout=300)


def _log(run):
    return [{k: v for k, v in r.items() if k != "frames_per_s"} for r in csv.DictReader((run / "train_log.csv").open())]


def _max_abs_diff(a, b):
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def _assert_same_run(a, b):
    sa, sb = load_training_state(a / LAST_NAME), load_training_state(b / LAST_NAME)
    assert sa["global_step"] == sb["global_step"] == 6
    assert sa["model"].keys() == sb["model"].keys()
    assert any(k.endswith("num_batches_tracked") for k in sa["model"])
    assert _max_abs_diff(sa["model"], sb["model"]) == 0.0  # weights and buffers
    for key in sa["model"]:
        assert torch.equal(sa["model"][key], sb["model"][key]), key
    for key, value in sa["optimizer"]["state"].items():
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(value[name], sb["optimizer"]["state"][key][name])
    assert _log(a) == _log(b)


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    assert main(_argv(data, run)) == 0
    torch.set_num_threads(threads)
    return run


def test_sigterm_saves_its_step_and_resume_is_bit_identical(data, straight, tmp_path):
    run = tmp_path / "run"
    done = _child(_argv(data, run), at=5, signum=signal.SIGTERM)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "stopped by SIGTERM after step 5" in done.stderr and "--resume" in done.stderr
    state = load_training_state(run / LAST_NAME)
    assert (state["global_step"], state["epoch"], state["step_in_epoch"]) == (5, 1, 2)
    assert main(_argv(data, run, "train.epochs=2") + ["--resume"]) == 0
    _assert_same_run(straight, run)


def test_sigkill_mid_epoch_resumes_from_the_last_step_checkpoint(data, straight, tmp_path):
    run = tmp_path / "run"
    done = _child(_argv(data, run, "train.checkpoint_every=2"), at=6, signum=signal.SIGKILL)
    assert done.returncode == -signal.SIGKILL
    state = load_training_state(run / LAST_NAME)
    assert (state["global_step"], state["epoch"], state["step_in_epoch"]) == (4, 1, 1)  # mid-epoch checkpoint
    assert [int(r["iter"]) for r in _log(run)] == [1, 2, 3, 4, 5]
    assert main(_argv(data, run, "train.checkpoint_every=2") + ["--resume"]) == 0
    _assert_same_run(straight, run)  # the log was cut back to step 4, then steps 5-6 were logged once
