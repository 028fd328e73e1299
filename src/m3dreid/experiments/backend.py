"""Every call the experiments make into the data, engine, model and evaluation parts, in one place.

The experiment runner owns no training loop, reader, metric or re-ranking of its own: it resolves configs and
collects numbers. This module is the seam: each function forwards to the part that owns the work and converts its
answer to what the tables need (metrics in percent: ``mAP``, ``rank1``, ``rank5``, ``rank10``, ``rank20``).
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from m3dreid.config import Config

__all__ = [
    "prepare_synthetic",
    "train",
    "evaluate",
    "evaluate_fusion",
    "load_model",
    "load_clip",
    "model_stats",
    "per_kind_ap",
    "device_name",
]

log = logging.getLogger(__name__)

_RANKS = (1, 5, 10, 20)
TWO_STREAM_MODEL = "two_stream_m3d_resnet50"


def prepare_synthetic(root: Path, *, size: str, seed: int = 0) -> Path:
    """The synthetic dataset of ``size`` under ``root``, generated once (same seed -> same files)."""
    from m3dreid.data.synthetic import make_synthetic

    if not (root / "info" / "tracks_test_info.mat").is_file():
        log.info("generating the %s synthetic dataset (seed %d) in %s", size, seed, root)
        make_synthetic(root, size=size, seed=seed)
    return root


def train(config: Config) -> Path:
    """Train one run from its config into ``config.output_dir``; return its final checkpoint."""
    from m3dreid.tasks.train import train as train_run

    result = train_run(config, run_dir=config.output_dir)
    if result.checkpoint is None:
        raise RuntimeError(f"{config.output_dir}: training wrote no checkpoint")
    return Path(result.checkpoint)


def _percent(result) -> dict[str, float]:
    # The evaluation part reports fractions in a RankingResult (mAP, cmc array); the tables show percent.
    out = {"mAP": 100.0 * float(result.mAP)}
    for r in _RANKS:
        out[f"rank{r}"] = 100.0 * float(result.cmc[r - 1]) if len(result.cmc) >= r else float("nan")
    return out


def evaluate(config: Config, checkpoint: Path, *, rerank: bool) -> dict[str, float]:
    """Whole-tracklet evaluation of one trained run on its dataset's query/gallery, optionally re-ranked.

    The features are saved beside the checkpoint once (``features.npz``), so the re-ranked row and a later rerun
    rank them again without the network.
    """
    from m3dreid.evaluation import evaluate_features, load_features
    from m3dreid.evaluation.evaluate import eval_settings
    from m3dreid.report.runs import FEATURES_FILE
    from m3dreid.tasks.evaluate import extract_split

    path = Path(checkpoint).parent / FEATURES_FILE
    if path.is_file():
        features = load_features(path)
    else:
        features, _ = extract_split(config, checkpoint=checkpoint, out=path)
    # the tables show rank-20 whatever the run's eval.max_rank
    result = evaluate_features(features, rerank=rerank, **{**eval_settings(config.eval), "max_rank": 20})
    return _percent(result)


def evaluate_fusion(configs: Sequence[Config], checkpoints: Sequence[Path], *, rerank: bool) -> dict[str, float]:
    """The two-stream result: the streams' features concatenated (paper Section III-D), then ranked.

    ``configs`` / ``checkpoints`` are the temporal (M3D) stream first, then the spatial (2D) stream. The engine
    assembles the two-stream model from the two trained checkpoints (nothing is trained) and evaluates it.
    """
    from m3dreid.tasks.train import assemble_two_stream

    temporal, spatial = configs
    kwargs = {**temporal.model.kwargs, "spatial_checkpoint": str(checkpoints[1])}
    kwargs["temporal_checkpoint"] = str(checkpoints[0])
    out = (
        Path(temporal.output_dir).parent
        / f"two_stream-{Path(temporal.output_dir).name}-{Path(spatial.output_dir).name}"
    )
    model_cfg = dataclasses.replace(temporal.model, name=TWO_STREAM_MODEL, kwargs=kwargs)
    config = dataclasses.replace(temporal, model=model_cfg, output_dir=str(out))
    model_file = assemble_two_stream(config, out=out / "model.pt")
    return evaluate(config, model_file, rerank=rerank)


def load_model(config: Config, checkpoint: Path) -> torch.nn.Module:
    """The model of a run on the CPU, for saliency maps."""
    from m3dreid.tasks.evaluate import load_for_eval

    return load_for_eval(config, checkpoint=checkpoint, device="cpu")


def load_clip(config: Config, frames: Sequence[str]) -> torch.Tensor:
    """Frames of one tracklet read and normalised as at test time: ``(1, T, C, H, W)``."""
    from m3dreid.data import Tracklet
    from m3dreid.data.loader import load_frames

    return load_frames(Tracklet(tuple(frames), 0, 0), config.data).unsqueeze(0)  # (1, T, C, H, W)


def _build(config: Config, **model_fields) -> torch.nn.Module:
    """A fresh model of the run (no weights read: ``pretrained`` cleared), for sizes and speed."""
    from m3dreid.models.build import build_model

    model = dataclasses.replace(config.model, pretrained="", **model_fields)
    return build_model(dataclasses.replace(config, model=model), num_classes=0)


def _param_mb(model: torch.nn.Module) -> float:
    # fp32 bytes of the network without its identity classifier (its size depends on the training set)
    classifier = getattr(model, "classifier", None)
    skip = {id(p) for p in classifier.parameters()} if isinstance(classifier, torch.nn.Module) else set()
    return sum(p.numel() for p in model.parameters() if id(p) not in skip) * 4 / 2**20


def _frames_per_second(model: torch.nn.Module, config: Config, seconds: float) -> float:
    """Inference frames/s of one clip of ``seq_len`` frames at the run's size on this machine (eval, no grad)."""
    t = max(config.data.seq_len, 8)
    clip = torch.randn(1, t, model.in_channels, config.data.height, config.data.width)  # (B, T, C, H, W)
    model.eval()
    with torch.no_grad():
        model(clip)  # warm-up
        frames, start = 0, time.perf_counter()
        while frames == 0 or time.perf_counter() - start < seconds:
            model(clip)
            frames += t
    return frames / (time.perf_counter() - start)


# what model_stats returns for each extra a table asks for
STAT_KEYS = {"params_mb": ("params_mb", "params_mb_full"), "fps": ("fps",)}


def model_stats(config: Config, *, extras: Sequence[str], fps_seconds: float) -> dict[str, float]:
    """Parameters (MB, fp32, without classifier) at the run's scale and at the paper's scale, and frames/s."""
    torch.manual_seed(0)
    model = _build(config)
    stats: dict[str, float] = {}
    if "params_mb" in extras:
        stats["params_mb"] = _param_mb(model)
        full_kwargs = {k: v for k, v in config.model.kwargs.items() if k not in ("depth", "base_channels")}
        full = _build(config, embed_dim=128, kwargs=full_kwargs)
        stats["params_mb_full"] = _param_mb(full)
    if "fps" in extras:
        stats["fps"] = _frames_per_second(model, config, fps_seconds)
    return stats


def per_kind_ap(run_dir: Path, root: Path) -> dict[str, float]:
    """Synthetic only: mAP (percent) over the queries of each identity kind (motion / rhythm / appearance groups).

    Reads the run's saved features, so it costs no network pass; tells whether a model learnt the temporal groups.
    """
    import numpy as np

    from m3dreid.data.synthetic import KINDS, read_groups
    from m3dreid.evaluation import evaluate_features, load_features
    from m3dreid.report.runs import FEATURES_FILE

    path = Path(run_dir) / FEATURES_FILE
    if not path.is_file():
        return {}
    features = load_features(path)
    result = evaluate_features(features, device="cpu")
    groups = read_groups(root)
    kinds = np.array([groups.get(int(pid), {}).get("kind", "") for pid in features.q_pids])
    return {kind: 100.0 * float(np.nanmean(result.ap[kinds == kind])) for kind in KINDS if (kinds == kind).any()}


def device_name() -> str:
    threads = torch.get_num_threads()
    return f"{platform.processor() or platform.machine()} CPU, {threads} torch threads"
