"""Saliency report pages for trained runs: load each run's model, pick query tracklets, write the Fig. 8 page.

Kept apart from ``saliency.py`` (pure maps and drawing) because this part reads run folders and datasets. On the
synthetic data the queries come from the motion groups first (identities that look alike and differ only in how they
move), where the paper's reading of Fig. 8 predicts the clearest difference between the 2D and the M3D model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from m3dreid.config import load_config
from m3dreid.experiments import backend
from m3dreid.experiments.saliency import SCORES, mean_scores, saliency_scores, write_saliency_page
from m3dreid.experiments.tables import TABLES

__all__ = ["saliency_for_runs", "saliency_for_docs", "pick_queries"]

log = logging.getLogger(__name__)


def pick_queries(dataset, *, count: int, min_frames: int, root: str | Path | None = None) -> list[int]:
    """``count`` query indices spread over the query list (motion-group identities first on synthetic data)."""
    usable = [i for i, t in enumerate(dataset.query) if len(t.frames) >= min_frames]
    if root is not None and (Path(root) / "info" / "groups.json").is_file():
        from m3dreid.data.synthetic import read_groups

        groups = read_groups(root)
        motion = [i for i in usable if groups.get(dataset.query[i].pid, {}).get("kind") == "motion"]
        usable = motion + [i for i in usable if i not in set(motion)]
    if not usable:
        raise ValueError(f"{dataset.name}: no query tracklet has {min_frames} frames")
    picks = np.linspace(0, min(len(usable), max(count * 3, count)) - 1, num=min(count, len(usable)))
    return [usable[int(round(p))] for p in picks]


def _checkpoint(run: Path) -> Path:
    for name in ("model.pt", "last.pt"):
        if (run / name).is_file():
            return run / name
    raise FileNotFoundError(f"{run}: no model.pt or last.pt in the run folder")


def _load_models(runs: Sequence[Path], names: Sequence[str]) -> tuple[dict, list]:
    """The runs' models by row name (default: the model name, with the run folder when two runs share it), configs."""
    configs = [load_config(Path(run) / "config.yaml") for run in runs]
    models = {}
    for i, (run, config) in enumerate(zip(runs, configs, strict=True)):
        name = names[i] if i < len(names) else config.model.name
        models[name if name not in models else f"{name} ({Path(run).name})"] = backend.load_model(
            config, _checkpoint(Path(run))
        )
    return models, configs


def _query_clips(config, *, count: int, frames: int) -> list[tuple[str, object]]:
    """``count`` captioned ``(1, T, C, H, W)`` query clips of the config's dataset (see :func:`pick_queries`)."""
    from m3dreid.data import dataset_from_config

    dataset = dataset_from_config(config.data)
    clips = []
    for index in pick_queries(dataset, count=count, min_frames=frames, root=config.data.root):
        tracklet = dataset.query[index]
        clip = backend.load_clip(config, tracklet.frames[:frames])  # (1, T, C, H, W)
        clips.append((f"query {index}: pid {tracklet.pid}, camera {tracklet.camid}", clip))
    return clips


def saliency_for_runs(
    runs: Sequence[Path], out: Path, *, count: int = 4, frames: int = 8, names: Sequence[str] = ()
) -> dict[str, dict[str, float]]:
    """Saliency page for the runs (e.g. a 2D and an M3D run) on the same queries of the first run's dataset.

    ``names`` label the runs' rows (default: the model name, with the run folder when two runs share it).
    """
    models, configs = _load_models(runs, names)
    clips = _query_clips(configs[0], count=count, frames=frames)
    return write_saliency_page(models, clips, out, mean=configs[0].data.mean, std=configs[0].data.std)


def saliency_for_docs(
    table3: dict | None, figures: Path, *, count: int = 8, frames: int = 8
) -> tuple[Path, dict[str, dict[str, list[float]]]] | None:
    """The docs' saliency figure from Table III's first-seed runs: ResNet50, M3D and (when run) M3D + GELU global.

    Returns the first strip (page and the other strips under ``figures/saliency``) and, for each model, its motion
    overlap and lower share per seed of the table (each the mean over the same ``count`` query clips).
    """
    runs = (table3 or {}).get("run_dirs", {})
    if not runs.get("resnet50") or not runs.get("m3d"):
        log.warning("no Table III runs of resnet50 and m3d: skipping the saliency figure")
        return None
    keys = [key for key in ("resnet50", "m3d", "m3d_gelu") if runs.get(key)]
    out = figures / "saliency"
    labels = [TABLES["table3"].row(key).label for key in keys]
    models, configs = _load_models([Path(runs[key][0]) for key in keys], labels)
    clips = _query_clips(configs[0], count=count, frames=frames)  # the same clips for every seed's models
    per_seed = [write_saliency_page(models, clips, out, mean=configs[0].data.mean, std=configs[0].data.std)]
    for seed in range(1, min(len(runs[key]) for key in keys)):
        models, _ = _load_models([Path(runs[key][seed]) for key in keys], labels)
        per_seed.append(mean_scores([scores for *_, scores in saliency_scores(models, clips)]))
    values = {name: {k: [seed[name][k] for seed in per_seed] for k in SCORES} for name in labels}
    log.info("saliency scores per seed: %s", values)
    return out / "saliency_00.png", values
