"""Train a run from its config, or assemble a two-stream model from two trained streams (nothing trained).

The loop itself, its losses, optimisers, checkpoints and torchrun support are the engine's
(:mod:`m3dreid.engine.run`); this is the one entry the commands, the demo and the experiments call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from m3dreid.config import Config
from m3dreid.engine.run import MODEL_FILE  # noqa: F401  (re-exported for the CLI)
from m3dreid.engine.trainer import RUN_FILES, TrainingInterrupted  # noqa: F401
from m3dreid.models.build import ASSEMBLY_KEYS

__all__ = ["is_assembly", "train", "assemble_two_stream", "is_main_process"]


def is_assembly(config: Config) -> bool:
    """A two-stream config that names its streams' checkpoints: ``train`` assembles it instead of training."""
    return any(key in config.model.kwargs for key in ASSEMBLY_KEYS)


def train(
    config: Config,
    *,
    run_dir: str | Path | None = None,
    resume: str | Path | bool | None = None,
    dataset: Any = None,
    device: str | None = None,
):
    """Train ``config`` into ``run_dir`` (default ``output_dir``); ``resume`` continues ``last.pt`` (True) or a file."""
    from m3dreid.engine.run import train_from_config

    return train_from_config(config, run_dir=run_dir, resume=resume, dataset=dataset, device=device)


def assemble_two_stream(config: Config, *, out: str | Path | None = None) -> Path:
    """The two-stream model of ``config`` from its two stream checkpoints, saved as ``output_dir/model.pt``."""
    from m3dreid.engine.run import assemble_two_stream as assemble

    return assemble(config, out=out)


def is_main_process() -> bool:
    """False on the ranks other than 0 of a torchrun job (they train, but only rank 0 reports)."""
    from m3dreid.engine.distributed import env_world

    return env_world()[0] == 0
