"""The one training loop of m3dreid: every model (2D, M3D, I3D, ...) trains here and differs only by its builder.

The loop is written for exact resumption: the data of epoch ``e`` comes from ``epoch_loader(e)``, which must depend
only on the run seed and ``e``; a checkpoint holds model (weights and buffers, BatchNorm statistics included),
optimizer, scheduler, counters, every RNG state (at the epoch's start, to replay its data, and after the last step)
and the open logging window, so "2 epochs, stop, resume 1" equals "3 epochs" bit for bit on CPU, log rows included.

Stops: Ctrl-C (SIGINT) and SIGTERM (``timeout``, docker, SLURM) only set a flag; the step under way finishes, the
state after it is saved (``step_in_epoch`` = batches done) and :class:`TrainingInterrupted` is raised. A second
Ctrl-C interrupts at once, without saving (the last checkpoint stays). ``train.checkpoint_every`` adds checkpoints
every N steps, so that even SIGKILL loses at most N steps. On resume the log is cut back to the checkpoint's step
and temp files of a killed checkpoint write are removed.

Distributed training hooks: ``wrap_model`` receives the device-placed model (e.g. to wrap it in
DistributedDataParallel) and ``is_main`` limits logging, progress bars and checkpoints to rank 0.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from m3dreid.config import Config, config_to_dict, save_config
from m3dreid.engine.checkpoint import (
    LAST_NAME,
    NEW_NAME,
    PREV_NAME,
    find_resume_checkpoint,
    load_training_state,
    save_training_state,
)
from m3dreid.engine.diagnostics import NORM_COLUMNS, check_temporal_weights, temporal_norms
from m3dreid.engine.losses import build_loss
from m3dreid.engine.optim import build_optimizer, build_scheduler
from m3dreid.engine.seeding import capture_rng_state, restore_rng_state, seed_everything
from m3dreid.utils.device import resolve_device
from m3dreid.utils.fast_paths import fast_paths, to_channels_last
from m3dreid.utils.io import atomic_write_text, remove_stale_temp_files

__all__ = ["Trainer", "TrainResult", "TrainingInterrupted", "resolve_device", "LOG_NAME", "CONFIG_NAME", "RUN_FILES"]

log = logging.getLogger(__name__)

LOG_NAME = "train_log.csv"
CONFIG_NAME = "config.yaml"
# *_rms: RMS of the temporal taps of the M3D layers and of the 2D convolutions (empty where a model has none)
LOG_COLUMNS = ("epoch", "iter", "loss", "acc", "lr", "frames_per_s", *NORM_COLUMNS)
# What a run folder holds (train --overwrite removes these before a new run): checkpoints, log, config, tensorboard,
# and the evaluation files (m3dreid.report.runs RESULTS_FILE, FEATURES_FILE) that describe the old weights.
RUN_FILES = (LAST_NAME, PREV_NAME, NEW_NAME, LOG_NAME, CONFIG_NAME, "tensorboard", "results.json", "features.npz")


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by a signal after a completed step, whose state was saved (``signum``: SIGINT, SIGTERM)."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum


class _StopRequests:
    """SIGINT / SIGTERM set ``signum`` (the loop stops after its step); a second SIGINT raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, without saving
        self.signum = signum
        log.warning("%s: stopping after the current step (saving a checkpoint)", signal.Signals(signum).name)

    def __enter__(self) -> _StopRequests:
        self.signum = 0
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread only
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


@dataclass
class TrainResult:
    epochs_done: int  # completed epochs (equals train.epochs when the run finished)
    global_step: int  # optimizer steps taken over the whole run
    checkpoint: Path | None  # the last checkpoint written (None when not the main process)
    last_loss: float
    last_acc: float


class _Meter:
    """Sums over a logging window, kept as tensors so that the GPU is not synchronised every step."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loss = 0.0
        self.correct = 0.0
        self.samples = 0
        self.frames = 0
        self.steps = 0
        self.start = time.perf_counter()

    def state_dict(self) -> dict[str, Any]:  # the open window, so that a resumed run logs the same rows
        return {"loss": torch.as_tensor(self.loss).detach().cpu(), "correct": torch.as_tensor(self.correct).cpu(),
                "samples": self.samples, "frames": self.frames, "steps": self.steps}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        if not state.get("steps"):
            return
        self.loss, self.correct = state["loss"].to(device), state["correct"].to(device)
        self.samples, self.frames, self.steps = int(state["samples"]), int(state["frames"]), int(state["steps"])

    def add(self, loss: torch.Tensor, correct: torch.Tensor, samples: int, frames: int) -> None:
        self.loss = self.loss + loss.detach()
        self.correct = self.correct + correct
        self.samples += samples
        self.frames += frames
        self.steps += 1

    def summary(self) -> tuple[float, float, float]:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        loss = float(self.loss) / max(self.steps, 1)
        acc = float(self.correct) / max(self.samples, 1)
        return loss, acc, self.frames / elapsed


class Trainer:
    """Trains ``model`` with the ``train`` section of ``config``, writing logs and checkpoints under ``run_dir``."""

    def __init__(
        self,
        *,
        model: nn.Module,
        config: Config,
        run_dir: str | Path,
        epoch_loader: Callable[[int], Iterable],
        device: torch.device | str | None = None,
        is_main: bool = True,
        wrap_model: Callable[[nn.Module], nn.Module] | None = None,
        evaluate_fn: Callable[[nn.Module, int], dict[str, float]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        tc = config.train
        self.config = config
        self.run_dir = Path(run_dir)
        self.epoch_loader = epoch_loader
        self.is_main = is_main
        self.evaluate_fn = evaluate_fn
        self.meta = dict(meta or {})  # saved in checkpoints, e.g. num_classes for rebuilding the model
        self.device = resolve_device(tc.device) if device is None else torch.device(device)
        self.fast = fast_paths(tc, self.device)  # amp / channels_last / compile: on CUDA, or anywhere when asked
        self.amp = self.fast.amp
        self.module = model.to(self.device)  # the bare model: its state_dict is what checkpoints hold
        if self.fast.channels_last:
            to_channels_last(self.module)
        self.model = wrap_model(self.module) if wrap_model else self.module
        if self.fast.compile:
            self.model = torch.compile(self.model)
        self.loss_fn = build_loss(kind=tc.loss, triplet_margin=tc.triplet_margin, triplet_weight=tc.triplet_weight)
        self.optimizer = build_optimizer(
            model=self.module, name=tc.optimizer, lr=tc.lr, momentum=tc.momentum, weight_decay=tc.weight_decay
        )
        self.scheduler = build_scheduler(optimizer=self.optimizer, step=tc.lr_step, gamma=tc.lr_gamma)
        self.epoch = 0  # completed epochs
        self.global_step = 0
        self._skip_steps = 0  # batches of the current epoch already done before the checkpoint resumed from
        self._epoch_rng: dict[str, Any] | None = None  # RNG state at the start of the current epoch
        self._resume: dict[str, Any] = {}  # a mid-epoch checkpoint's epoch RNG, step RNG and logging window
        self._meter = _Meter()
        self._saved_step = -1  # global step of the last checkpoint written
        self._stop = _StopRequests()
        self._in_step = False
        self._tb = None
        self.temporal_warnings: list[str] = []  # set after training (engine.diagnostics.check_temporal_weights)

    # ---- state -------------------------------------------------------------------------------------------------
    def state_dict(self, *, step_in_epoch: int = 0) -> dict[str, Any]:
        """The state after the last completed step; ``step_in_epoch`` > 0 for a checkpoint inside an epoch."""
        rng = capture_rng_state()
        return {
            "model": self.module.state_dict(),  # parameters and buffers (BatchNorm running stats, num_batches_tracked)
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "step_in_epoch": step_in_epoch,
            "rng": rng,
            # mid-epoch: the epoch's data is replayed from its start RNG, then ``rng`` is restored for the next step
            "epoch_rng": self._epoch_rng if step_in_epoch and self._epoch_rng is not None else rng,
            "meter": self._meter.state_dict() if step_in_epoch else _Meter().state_dict(),
            "config": config_to_dict(self.config),
            "meta": self.meta,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self._skip_steps = int(state.get("step_in_epoch", 0))
        self._saved_step = self.global_step
        if self._skip_steps:
            self._resume = {"epoch_rng": state.get("epoch_rng", state["rng"]), "rng": state["rng"]}
            self._resume["meter"] = state.get("meter", {})
        restore_rng_state(state["rng"])

    def save_checkpoint(self, *, step_in_epoch: int = 0) -> Path | None:
        if not self.is_main:
            return None
        path = save_training_state(self.run_dir, self.state_dict(step_in_epoch=step_in_epoch))
        self._saved_step = self.global_step
        log.info("saved %s (epoch %d, step %d)", path, self.epoch, self.global_step)
        return path

    def resume(self, path: str | Path | None = None) -> None:
        """Continue from ``path`` (default: the newest complete checkpoint of ``run_dir``, normally ``last.pt``)."""
        path = Path(path) if path else find_resume_checkpoint(self.run_dir)
        self.load_state_dict(load_training_state(path))
        log.info("resumed from %s at epoch %d, step %d", path, self.epoch, self.global_step)
        if self.is_main:
            self._cut_log(self.global_step)

    def _cut_log(self, step: int) -> None:
        """Drop the log rows written after ``step`` (the checkpoint's): a resumed run writes them again."""
        path = self.run_dir / LOG_NAME
        if not path.is_file():
            return
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        keep = [row for row in rows if row.get("iter", "").isdigit() and int(row["iter"]) <= step]
        if len(keep) == len(rows):
            return
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=LOG_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(keep)
        atomic_write_text(path, text.getvalue())
        log.info("%s: cut back to step %d (%d rows after it removed)", path, step, len(rows) - len(keep))

    # ---- logging -----------------------------------------------------------------------------------------------
    def _write_log_row(self, row: dict[str, Any]) -> None:
        if not self.is_main:
            return
        path = self.run_dir / LOG_NAME
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=LOG_COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self._tb is not None:
            for key in ("loss", "acc", "lr", "frames_per_s"):
                self._tb.add_scalar(f"train/{key}", row[key], row["iter"])

    def _open_tensorboard(self) -> None:
        if not (self.config.train.tensorboard and self.is_main):
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.warning("train.tensorboard is set but the tensorboard package is not installed; skipping it")
            return
        self._tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    # ---- the loop ----------------------------------------------------------------------------------------------
    def _batches(self, epoch: int) -> tuple[Iterator, int]:
        loader = self.epoch_loader(epoch)
        wanted = self.config.train.iters_per_epoch
        if wanted > 0:
            return itertools.islice(itertools.chain.from_iterable(itertools.repeat(loader)), wanted), wanted
        return iter(loader), len(loader)

    def _stop_requested(self) -> int:
        """The signal that asked to stop (0 if none), agreed by all ranks under torchrun so they stop together."""
        signum = self._stop.signum
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            flag = torch.tensor([signum], device=self.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            signum = int(flag.item())
        return signum

    def _checkpoint_due(self) -> bool:
        every = self.config.train.checkpoint_every
        return every > 0 and self.global_step // every > max(self._saved_step, 0) // every

    def _interrupted(self, signum: int, step_in_epoch: int) -> TrainingInterrupted:
        path = self.save_checkpoint(step_in_epoch=step_in_epoch)
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        where = f"; saved {path}" if path else ""
        return TrainingInterrupted(f"stopped by {name} after step {self.global_step}{where}", signum)

    def _step(self, clips: torch.Tensor, pids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        clips = clips.to(self.device, non_blocking=True)  # (B, T, C, H, W)
        pids = pids.to(self.device, non_blocking=True)  # (B,)
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            out = self.model(clips)
        features, logits = out if isinstance(out, tuple) else (out, None)
        loss, _ = self.loss_fn(features, logits, pids)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        correct = (
            (logits.detach().argmax(1) == pids).sum() if logits is not None else torch.zeros((), device=pids.device)
        )
        return loss.detach(), correct

    def _run_epoch(self, epoch: int) -> tuple[float, float]:
        from tqdm import tqdm

        tc = self.config.train
        self.model.train()
        batches, total = self._batches(epoch)
        skip, self._skip_steps = self._skip_steps, 0
        resume, self._resume = self._resume, {}
        bar = tqdm(
            total=total,
            initial=skip,
            desc=f"epoch {epoch + 1}/{tc.epochs}",
            disable=not (self.is_main and sys.stderr.isatty()),
            leave=False,
        )
        self._meter = meter = _Meter()
        self._in_step = False
        loss_acc = (float("nan"), float("nan"))
        done = skip  # batches of this epoch trained on so far
        try:
            for _ in range(skip):  # replay the data of an epoch resumed in its middle: already trained on
                next(batches)
            if resume:  # the generators and the logging window as they were after the checkpoint's step
                restore_rng_state(resume["rng"])
                meter.load_state_dict(resume["meter"], self.device)
            for step_in_epoch, (clips, pids, *_rest) in enumerate(batches, start=skip):
                self._in_step = True
                loss, correct = self._step(clips, pids)
                self.global_step += 1
                self._in_step = False
                done = step_in_epoch + 1
                meter.add(loss, correct, clips.shape[0], clips.shape[0] * clips.shape[1])
                bar.update(1)
                last = done == total
                if self.global_step % max(tc.log_every, 1) == 0 or last:
                    loss_v, acc_v, fps = meter.summary()
                    loss_acc = (loss_v, acc_v)
                    lr = self.optimizer.param_groups[0]["lr"]
                    row = {"epoch": epoch + 1, "iter": self.global_step, "loss": f"{loss_v:.6f}"}
                    row.update({"acc": f"{acc_v:.4f}", "lr": f"{lr:.3g}", "frames_per_s": f"{fps:.1f}"})
                    norms = temporal_norms(self.module)
                    row.update({k: "" if v is None else f"{v:.4g}" for k, v in norms.items()})
                    self._write_log_row(row)
                    bar.set_postfix(loss=f"{loss_v:.3f}", acc=f"{acc_v:.3f}")
                    log.debug("epoch %d step %d loss %.4f acc %.3f lr %.3g %.0f frames/s", *list(row.values())[:6])
                    meter.reset()
                if last:  # the epoch's end: fit() steps the scheduler, then saves or stops
                    break
                signum = self._stop_requested()
                if signum:
                    raise self._interrupted(signum, done)
                if self._checkpoint_due():
                    self.save_checkpoint(step_in_epoch=done)
        except TrainingInterrupted:
            bar.close()
            raise
        except KeyboardInterrupt:  # raised outside the signal handler (a second Ctrl-C, or by code)
            bar.close()
            if self._in_step:  # weights, buffers or optimizer may be half-updated: keep the last checkpoint instead
                log.warning("interrupted inside step %d; not saved (the last checkpoint stays)", self.global_step + 1)
            else:
                log.warning("interrupted in epoch %d after %d batches; saving a checkpoint", epoch + 1, done)
                self.save_checkpoint(step_in_epoch=done)
            raise
        bar.close()
        return loss_acc

    def fit(self, *, resume: str | Path | bool | None = None) -> TrainResult:
        """Train up to ``train.epochs`` epochs; ``resume`` = True (``run_dir/last.pt``) or a path continues a run."""
        tc = self.config.train
        if self.is_main:  # temp files of a checkpoint write that a kill interrupted
            remove_stale_temp_files(self.run_dir)
        if resume:
            self.resume(None if resume is True else resume)
        else:
            seed_everything(tc.seed)
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.run_dir / CONFIG_NAME)
            if not resume:  # a new run in an old folder starts a new log; a resumed run appends to its own
                (self.run_dir / LOG_NAME).unlink(missing_ok=True)
        self._open_tensorboard()
        checkpoint = None
        loss, acc = float("nan"), float("nan")
        try:
            with self._stop:
                while self.epoch < tc.epochs:
                    epoch = self.epoch
                    # Data order and augmentation randomness of this epoch start from here (a mid-epoch resume
                    # replays the epoch from the saved one).
                    if self._resume:
                        restore_rng_state(self._resume["epoch_rng"])
                    self._epoch_rng = capture_rng_state()
                    loss, acc = self._run_epoch(epoch)
                    self.scheduler.step()
                    self.epoch = epoch + 1
                    log.info("epoch %d/%d: loss %.4f acc %.3f", self.epoch, tc.epochs, loss, acc)
                    signum = self._stop_requested()
                    if signum:
                        raise self._interrupted(signum, 0)
                    if self.evaluate_fn and self.is_main and tc.eval_every > 0 and self.epoch % tc.eval_every == 0:
                        metrics = self.evaluate_fn(self.module, self.epoch)
                        log.info("epoch %d eval: %s", self.epoch, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
                    due = self._checkpoint_due()
                    if self.epoch % max(tc.save_every, 1) == 0 or self.epoch == tc.epochs or due:
                        checkpoint = self.save_checkpoint()
        finally:
            if self._tb is not None:
                self._tb.close()
                self._tb = None
        if self.is_main and self.epoch >= tc.epochs:
            self.temporal_warnings = check_temporal_weights(self.module)  # also logged as warnings
        if checkpoint is None and self.is_main and (self.run_dir / LAST_NAME).exists():
            checkpoint = self.run_dir / LAST_NAME
        return TrainResult(self.epoch, self.global_step, checkpoint, loss, acc)
