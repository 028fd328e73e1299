"""Stops lose nothing: Ctrl-C / SIGTERM in the middle of a step save the state after the last completed step (weights,
BatchNorm buffers, optimizer, scheduler, RNG, data position, open logging window), so that the resumed run equals the
uninterrupted one bit for bit, log rows included; mid-epoch checkpoints; stale temp files; a full disk."""

from __future__ import annotations

import csv
import errno
import os
import shutil
import signal
import subprocess

import pytest
import torch
from tiny_engine import TinyClips, TinyVideoNet, tiny_config

from m3dreid.engine import LAST_NAME, PREV_NAME, Trainer, load_training_state
from m3dreid.engine.checkpoint import NEW_NAME
from m3dreid.engine.trainer import TrainingInterrupted
from m3dreid.errors import DiskFullError
from m3dreid.utils.io import temp_files

pytestmark = pytest.mark.usefixtures("one_thread")


class Killed(BaseException):
    """Stands in for SIGKILL: nothing in the trainer catches it, so nothing is saved."""


class SignalNet(TinyVideoNet):
    """Sends ``signum`` to its own process from inside training forward number ``at`` (1-based), after BatchNorm has
    updated its running statistics: the moment at which the old trainer saved a torn state."""

    def __init__(self, *, at: int = 0, signum: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.at, self.signum, self.calls = at, signum, 0

    def forward(self, clip):
        out = super().forward(clip)
        if self.training:
            self.calls += 1
            if self.calls == self.at:
                if self.signum:
                    os.kill(os.getpid(), self.signum)
                else:
                    raise Killed
        return out


def _trainer(run_dir, config, *, at=0, signum=0, loader=None):
    torch.manual_seed(0)
    model = SignalNet(num_classes=6, at=at, signum=signum)
    return Trainer(model=model, config=config, run_dir=run_dir, epoch_loader=loader or TinyClips(), meta={"n": 6})


def _log(run_dir):
    rows = list(csv.DictReader((run_dir / "train_log.csv").open()))
    return [{k: v for k, v in row.items() if k != "frames_per_s"} for row in rows]  # frames/s is a timing


def _max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    worst = 0.0
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        worst = max(worst, (a[key].double() - b[key].double()).abs().max().item() if a[key].numel() else 0.0)
    return worst


def _assert_same_state(a: Trainer, b: Trainer) -> None:
    sa, sb = a.module.state_dict(), b.module.state_dict()
    assert "bn.num_batches_tracked" in sa and "bn.running_var" in sa
    assert _max_abs_diff(sa, sb) == 0.0  # weights and buffers, bit for bit
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
    oa, ob = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    assert oa.keys() == ob.keys()
    for key in oa:
        assert torch.equal(oa[key]["momentum_buffer"], ob[key]["momentum_buffer"]), key
    assert a.scheduler.state_dict() == b.scheduler.state_dict()


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tests (one_thread): another thread count sums in another order
    trainer = _trainer(run, tiny_config(epochs=3, log_every=2))
    result = trainer.fit()
    torch.set_num_threads(threads)
    assert result.global_step == 9
    return trainer, _log(run)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("at", [5, 3])  # step 5: mid-epoch, inside a logging window; step 3: an epoch's last step
def test_signal_inside_a_step_saves_that_step_and_resume_is_bit_identical(tmp_path, straight, signum, at):
    config = tiny_config(epochs=3, log_every=2)
    handler = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted) as stop:
        _trainer(tmp_path, config, at=at, signum=signum).fit()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handler  # handlers restored
    assert stop.value.signum == signum and f"after step {at}" in str(stop.value)
    state = load_training_state(tmp_path / LAST_NAME)
    assert state["global_step"] == at  # the step under way when the signal came was finished, then saved
    assert state["model"]["bn.num_batches_tracked"].item() == at  # BatchNorm saw exactly the saved steps
    assert (state["epoch"], state["step_in_epoch"]) == ((1, 2) if at == 5 else (1, 0))
    resumed = _trainer(tmp_path, config)
    assert resumed.fit(resume=True).global_step == 9
    _assert_same_state(straight[0], resumed)
    assert _log(tmp_path) == straight[1]  # same rows, same values, none twice


def test_a_kill_mid_epoch_resumes_from_the_last_step_checkpoint(tmp_path, straight):
    config = tiny_config(epochs=3, log_every=1, checkpoint_every=2)
    with pytest.raises(Killed):  # killed inside step 8: nothing saved at the kill
        _trainer(tmp_path, config, at=8).fit()
    state = load_training_state(tmp_path / LAST_NAME)
    assert (state["global_step"], state["epoch"], state["step_in_epoch"]) == (6, 2, 0)
    assert load_training_state(tmp_path / PREV_NAME)["global_step"] == 4  # the mid-epoch one of epoch 2
    assert [int(r["iter"]) for r in _log(tmp_path)] == [1, 2, 3, 4, 5, 6, 7]  # row 7 is after the checkpoint
    resumed = _trainer(tmp_path, config)
    resumed.fit(resume=True)
    _assert_same_state(straight[0], resumed)
    assert [int(r["iter"]) for r in _log(tmp_path)] == list(range(1, 10))  # cut back to 6, then 7-9 once

    # the same from a mid-epoch step checkpoint (step 4 of 9, inside epoch 2)
    shutil.rmtree(tmp_path)
    with pytest.raises(Killed):
        _trainer(tmp_path, config, at=6).fit()
    state = load_training_state(tmp_path / LAST_NAME)
    assert (state["global_step"], state["epoch"], state["step_in_epoch"]) == (4, 1, 1)
    resumed = _trainer(tmp_path, config)
    resumed.fit(resume=True)
    _assert_same_state(straight[0], resumed)


def test_stale_temp_files_are_removed_and_the_newest_complete_checkpoint_wins(tmp_path, straight):
    config = tiny_config(epochs=3, log_every=2)
    _trainer(tmp_path, tiny_config(epochs=2, log_every=2)).fit()
    # a kill during a write leaves a temp file; a kill between the two renames leaves a complete .last.pt.new
    (tmp_path / f".{NEW_NAME}.k2j3.tmp").write_bytes(b"half a checkpoint")
    os.replace(tmp_path / LAST_NAME, tmp_path / NEW_NAME)
    assert len(temp_files(tmp_path)) == 1
    resumed = _trainer(tmp_path, config)
    resumed.fit(resume=True)
    assert temp_files(tmp_path) == [] and not (tmp_path / NEW_NAME).exists()
    _assert_same_state(straight[0], resumed)  # resumed from the newer .last.pt.new (epoch 2), not last.prev.pt


def _small_tmpfs(path):
    """Mount a 1 MiB tmpfs at ``path`` when this process may (root); False where it cannot."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


def _fill(folder, leave: int):
    """Fill the file system of ``folder`` up to ``leave`` bytes (room for config.yaml, not for a checkpoint)."""
    stat = os.statvfs(folder)
    (folder / "filler").write_bytes(b"\0" * max(stat.f_bavail * stat.f_frsize - leave, 0))


def test_a_full_disk_names_the_device_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    mnt = tmp_path / "small"
    mounted = _small_tmpfs(mnt)
    run = mnt / "run" if mounted else tmp_path / "run"
    try:
        _trainer(run, tiny_config(epochs=1)).fit()
        before = (run / LAST_NAME).read_bytes()
        if mounted:  # a real full disk
            assert len(before) > 5 * 4096
            _fill(mnt, leave=4 * 4096)
        else:  # no tmpfs here: the write fails as a full disk makes it fail
            real_save = torch.save

            def full(obj, handle, *args, **kwargs):
                real_save(obj, handle, *args, **kwargs)
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(torch, "save", full)
        with pytest.raises(DiskFullError) as err:
            _trainer(run, tiny_config(epochs=2)).fit(resume=True)
        message = str(err.value)
        device = str(mnt) if mounted else ""
        assert message.startswith(f"no space left on {device}") and f"{run / LAST_NAME}" in message
        assert "the previous checkpoint" in message and "is kept" in message
        assert (run / LAST_NAME).read_bytes() == before and temp_files(run) == []
        assert not (run / "config.yaml.tmp").exists()
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)], check=True)
