"""Report figures drawn with matplotlib's Agg backend (no display): CMC curves of several runs, training curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import matplotlib.ticker  # noqa: E402

from m3dreid.report.runs import RunData  # noqa: E402

__all__ = ["plot_cmc", "plot_training"]

_LOG_PANELS = (("loss", "loss"), ("acc", "training accuracy"), ("lr", "learning rate"), ("frames_per_s", "frames/s"))


def plot_cmc(runs: Sequence[RunData], path: str | Path, *, max_rank: int = 20) -> Path | None:
    """One CMC curve per (run, result label) on one plot; None when no run has results."""
    curves = [(run, label, entry) for run in runs for label, entry in run.results.items() if entry.get("cmc")]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for run, label, entry in curves:
        cmc = [100.0 * (c if c is not None else math.nan) for c in entry["cmc"][:max_rank]]
        m_ap = entry.get("mAP")
        name = f"{run.name} / {label}" + (f" (mAP {100 * m_ap:.1f})" if isinstance(m_ap, float) else "")
        ax.plot(range(1, len(cmc) + 1), cmc, marker="o", markersize=3, label=name)
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_title("CMC")
    ax.set_xlim(1, max(2, max(len(entry["cmc"][:max_rank]) for _, _, entry in curves)))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_training(run: RunData, path: str | Path) -> Path | None:
    """Loss, accuracy, lr and frames/s against the log step of one run; None when the run has no log."""
    log = run.train_log
    panels = [(key, title) for key, title in _LOG_PANELS if key in log and any(not math.isnan(v) for v in log[key])]
    if not panels:
        return None
    x = log.get("iter") or list(range(len(next(iter(log.values())))))
    increasing = all(b > a for a, b in zip(x, x[1:], strict=False))
    if not increasing:  # iter restarts every epoch: plot against the row number
        x = list(range(len(x)))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.8), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        ax.plot(x, log[key], linewidth=1.2)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("iteration" if increasing else "log step", fontsize=8)
        ax.grid(True, alpha=0.3)
        if key == "lr":
            ax.set_yscale("log")
    fig.suptitle(run.name, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
