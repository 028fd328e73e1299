"""The training loop: exact resumption, Ctrl-C checkpoints, damaged checkpoints, logs beside the run."""

from __future__ import annotations

import csv
import importlib.util

import pytest
import torch
import yaml
from tiny_engine import TinyClips, make_model, tiny_config

from m3dreid.engine import LAST_NAME, PREV_NAME, CheckpointError, Trainer, load_training_state
from m3dreid.engine.diagnostics import NORM_COLUMNS

pytestmark = pytest.mark.usefixtures("one_thread")


def _train(tmp, config, loader, resume=None):
    trainer = Trainer(model=make_model(), config=config, run_dir=tmp, epoch_loader=loader, meta={"num_classes": 6})
    result = trainer.fit(resume=resume)
    return trainer, result


def _assert_same_weights(a, b):
    sa, sb = a.module.state_dict(), b.module.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_resume_after_two_epochs_equals_three_straight(tmp_path):
    straight, res = _train(tmp_path / "straight", tiny_config(epochs=3), TinyClips())
    assert (res.epochs_done, res.global_step) == (3, 9)
    _train(tmp_path / "split", tiny_config(epochs=2), TinyClips())
    resumed, res = _train(tmp_path / "split", tiny_config(epochs=3), TinyClips(), resume=True)
    assert (res.epochs_done, res.global_step) == (3, 9)
    _assert_same_weights(straight, resumed)
    # momentum buffers and the lr schedule came back too: lr was divided by 10 after epoch 2
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.005)
    # the log holds the rows of both parts: every 2 steps plus each epoch's last step
    rows = list(csv.DictReader((tmp_path / "split" / "train_log.csv").open()))
    assert [int(r["iter"]) for r in rows] == [2, 3, 4, 6, 8, 9]
    assert list(rows[0]) == ["epoch", "iter", "loss", "acc", "lr", "frames_per_s", *NORM_COLUMNS]
    assert rows[0]["local_m3d_rms"] == "" and float(rows[0]["conv2d_rms"]) > 0  # no M3D layers in the tiny net


def test_ctrl_c_mid_epoch_saves_and_resume_is_exact(tmp_path):
    straight, _ = _train(tmp_path / "straight", tiny_config(epochs=3), TinyClips())
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "cut", tiny_config(epochs=3), TinyClips(fail_at=(1, 2)))
    state = load_training_state(tmp_path / "cut" / LAST_NAME)
    assert (state["epoch"], state["step_in_epoch"], state["global_step"]) == (1, 2, 5)
    resumed, res = _train(tmp_path / "cut", tiny_config(epochs=3), TinyClips(), resume=True)
    assert res.global_step == 9
    _assert_same_weights(straight, resumed)


def test_truncated_checkpoint_is_a_clear_error_and_previous_is_intact(tmp_path):
    _train(tmp_path, tiny_config(epochs=2), TinyClips())
    last, prev = tmp_path / LAST_NAME, tmp_path / PREV_NAME
    assert load_training_state(prev)["epoch"] == 1
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt.*last.prev.pt is intact"):
        load_training_state(last)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        Trainer(model=make_model(), config=tiny_config(), run_dir=tmp_path, epoch_loader=TinyClips()).fit(resume=True)
    # the previous one still loads and resumes (epoch 1 -> 2 again)
    trainer, res = _train(tmp_path, tiny_config(epochs=2), TinyClips(), resume=prev)
    assert (res.epochs_done, res.global_step) == (2, 6)
    last.write_bytes(b"not a torch file at all")
    with pytest.raises(CheckpointError, match="last.pt"):
        load_training_state(last)


def test_weights_file_is_not_a_training_state(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(make_model().state_dict(), path)
    with pytest.raises(CheckpointError, match="missing model, optimizer, scheduler, epoch, global_step, rng, config"):
        load_training_state(path)


def test_resolved_config_saved_beside_the_run(tmp_path):
    _train(tmp_path, tiny_config(epochs=1, loss="softmax+triplet", optimizer="adam"), TinyClips())
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert saved["train"]["loss"] == "softmax+triplet" and saved["train"]["epochs"] == 1
    state = load_training_state(tmp_path / LAST_NAME)
    assert state["config"]["train"]["optimizer"] == "adam" and state["meta"] == {"num_classes": 6}


def test_iters_per_epoch_cycles_the_loader(tmp_path):
    _, res = _train(tmp_path, tiny_config(epochs=1, iters_per_epoch=7), TinyClips())
    assert res.global_step == 7


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None, reason="tensorboard installed")
def test_tensorboard_missing_is_a_warning(tmp_path, caplog):
    _train(tmp_path, tiny_config(epochs=1, tensorboard=True), TinyClips())
    assert "tensorboard package is not installed" in caplog.text


def test_training_learns_the_tiny_set(tmp_path):
    data = TinyClips()
    trainer, res = _train(tmp_path, tiny_config(epochs=30, lr=0.05, lr_step=100), data)
    assert res.global_step == 90 and res.last_loss < 0.5
    model = trainer.module.eval()
    with torch.no_grad():
        predicted = model.head(model(data.clips)).argmax(1)  # (N,)
    assert torch.equal(predicted, data.pids)


def test_periodic_evaluation_hook(tmp_path):
    seen = []

    def evaluate(model, epoch):
        seen.append((epoch, model.training))
        return {"mAP": 0.5}

    config = tiny_config(epochs=4, eval_every=2)
    Trainer(model=make_model(), config=config, run_dir=tmp_path, epoch_loader=TinyClips(), evaluate_fn=evaluate).fit()
    assert seen == [(2, True), (4, True)]
