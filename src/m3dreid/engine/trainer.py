"""The one training loop of m3dreid: every model (2D, M3D, I3D, ...) trains here and differs only by its builder.

The loop is written for exact resumption: the data of epoch ``e`` comes from ``epoch_loader(e)``, which must depend
only on the run seed and ``e``; the checkpoint written after an epoch holds model, optimizer, scheduler, counters and
every RNG state, so "2 epochs, stop, resume 1" equals "3 epochs" bit for bit on CPU. Ctrl-C writes a checkpoint of
the interrupted epoch (with the RNG state of that epoch's start, so resuming replays its data order and skips the
batches already done) before the KeyboardInterrupt goes on.

Distributed training hooks: ``wrap_model`` receives the device-placed model (e.g. to wrap it in
DistributedDataParallel) and ``is_main`` limits logging, progress bars and checkpoints to rank 0.
"""

from __future__ import annotations

import csv
import itertools
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from m3dreid.config import Config, config_to_dict, save_config
from m3dreid.engine.checkpoint import LAST_NAME, load_training_state, save_training_state
from m3dreid.engine.diagnostics import NORM_COLUMNS, check_temporal_weights, temporal_norms
from m3dreid.engine.losses import build_loss
from m3dreid.engine.optim import build_optimizer, build_scheduler
from m3dreid.engine.seeding import capture_rng_state, restore_rng_state, seed_everything
from m3dreid.utils.device import resolve_device

__all__ = ["Trainer", "TrainResult", "resolve_device", "LOG_NAME", "CONFIG_NAME"]

log = logging.getLogger(__name__)

LOG_NAME = "train_log.csv"
CONFIG_NAME = "config.yaml"
# *_rms: RMS of the temporal taps of the M3D layers and of the 2D convolutions (empty where a model has none)
LOG_COLUMNS = ("epoch", "iter", "loss", "acc", "lr", "frames_per_s", *NORM_COLUMNS)


def _to_channels_last(model: nn.Module) -> None:
    # Module.to(memory_format=...) only knows 4D tensors; Conv3d weights need the 3D variant.
    for param in model.parameters():
        if param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)
        elif param.dim() == 5:
            param.data = param.data.contiguous(memory_format=torch.channels_last_3d)


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
        on_cuda = self.device.type == "cuda"
        self.amp = tc.amp and on_cuda
        self.module = model.to(self.device)  # the bare model: its state_dict is what checkpoints hold
        if tc.channels_last and on_cuda:
            _to_channels_last(self.module)
        self.model = wrap_model(self.module) if wrap_model else self.module
        if tc.compile and on_cuda:
            self.model = torch.compile(self.model)
        self.loss_fn = build_loss(kind=tc.loss, triplet_margin=tc.triplet_margin, triplet_weight=tc.triplet_weight)
        self.optimizer = build_optimizer(
            model=self.module, name=tc.optimizer, lr=tc.lr, momentum=tc.momentum, weight_decay=tc.weight_decay
        )
        self.scheduler = build_scheduler(optimizer=self.optimizer, step=tc.lr_step, gamma=tc.lr_gamma)
        self.epoch = 0  # completed epochs
        self.global_step = 0
        self._skip_steps = 0  # batches of the current epoch already done before an interrupt
        self._epoch_rng: dict[str, Any] | None = None
        self._tb = None
        self.temporal_warnings: list[str] = []  # set after training (engine.diagnostics.check_temporal_weights)

    # ---- state -------------------------------------------------------------------------------------------------
    def state_dict(self, *, step_in_epoch: int = 0, rng: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "step_in_epoch": step_in_epoch,
            "rng": rng if rng is not None else capture_rng_state(),
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
        restore_rng_state(state["rng"])

    def save_checkpoint(self, *, step_in_epoch: int = 0, rng: dict[str, Any] | None = None) -> Path | None:
        if not self.is_main:
            return None
        path = save_training_state(self.run_dir, self.state_dict(step_in_epoch=step_in_epoch, rng=rng))
        log.info("saved %s (epoch %d, step %d)", path, self.epoch, self.global_step)
        return path

    def resume(self, path: str | Path | None = None) -> None:
        """Continue from ``path`` (default ``run_dir/last.pt``)."""
        path = Path(path) if path else self.run_dir / LAST_NAME
        self.load_state_dict(load_training_state(path))
        log.info("resumed from %s at epoch %d, step %d", path, self.epoch, self.global_step)

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
        bar = tqdm(
            total=total,
            initial=skip,
            desc=f"epoch {epoch + 1}/{tc.epochs}",
            disable=not (self.is_main and sys.stderr.isatty()),
            leave=False,
        )
        meter = _Meter()
        loss_acc = (float("nan"), float("nan"))
        done = skip  # batches of this epoch trained on so far
        try:
            for step_in_epoch, (clips, pids, *_rest) in enumerate(batches):
                if step_in_epoch < skip:  # replayed data order of an interrupted epoch: already trained on
                    continue
                loss, correct = self._step(clips, pids)
                self.global_step += 1
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
        except KeyboardInterrupt:
            bar.close()
            log.warning("interrupted in epoch %d after %d batches; saving a checkpoint", epoch + 1, done)
            self.save_checkpoint(step_in_epoch=done, rng=self._epoch_rng)
            raise
        bar.close()
        return loss_acc

    def fit(self, *, resume: str | Path | bool | None = None) -> TrainResult:
        """Train up to ``train.epochs`` epochs; ``resume`` = True (``run_dir/last.pt``) or a path continues a run."""
        tc = self.config.train
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
            while self.epoch < tc.epochs:
                epoch = self.epoch
                # Data order and augmentation randomness of this epoch start from here: kept for Ctrl-C resumes.
                self._epoch_rng = capture_rng_state()
                loss, acc = self._run_epoch(epoch)
                self.scheduler.step()
                self.epoch = epoch + 1
                log.info("epoch %d/%d: loss %.4f acc %.3f", self.epoch, tc.epochs, loss, acc)
                if self.evaluate_fn and self.is_main and tc.eval_every > 0 and self.epoch % tc.eval_every == 0:
                    metrics = self.evaluate_fn(self.module, self.epoch)
                    log.info("epoch %d eval: %s", self.epoch, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
                if self.epoch % max(tc.save_every, 1) == 0 or self.epoch == tc.epochs:
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
