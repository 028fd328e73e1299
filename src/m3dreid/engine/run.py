"""From a resolved config to a trained or assembled model: the engine's entry (:mod:`m3dreid.tasks.train` calls it).

Models come from :mod:`m3dreid.models.build` (``model.name`` + ``model.kwargs``), datasets from ``m3dreid.data``,
metrics from ``m3dreid.evaluation``; loading a trained model for evaluation is :mod:`m3dreid.tasks.evaluate`'s.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from torch import nn

from m3dreid.config import Config, config_to_dict, save_config
from m3dreid.engine.seeding import seed_everything
from m3dreid.engine.trainer import CONFIG_NAME, Trainer, TrainResult
from m3dreid.models.build import ASSEMBLY_KEYS, build_model
from m3dreid.weights import CheckpointError, atomic_save, load_weights

__all__ = [
    "ASSEMBLY_KEYS",
    "MODEL_FILE",
    "build_model",
    "make_epoch_loader",
    "train_from_config",
    "assemble_two_stream",
]

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"  # weights-only file of an assembled model (two-stream)


def classifier_similarity(model: nn.Module) -> Any:
    """``(N, N)`` cosine similarity of the rows of ``model.classifier`` (numpy), or None without a classifier."""
    import torch

    classifier = getattr(model, "classifier", None)
    if not isinstance(classifier, nn.Linear):
        return None
    with torch.no_grad():
        w = torch.nn.functional.normalize(classifier.weight.detach().float().cpu(), dim=1)  # (N, D)
        return (w @ w.T).numpy()


def make_epoch_loader(
    dataset: Any,
    config: Config,
    *,
    rank: int = 0,
    world_size: int = 1,
    model: nn.Module | None = None,
    device: str | None = None,
) -> Callable[[int], Iterable]:
    """``epoch -> batches``: one P x K loader whose batches depend on the run seed and the epoch only (exact resume).

    ``train.iters_per_epoch`` (steps on this process) becomes the sampler's global number of batches. With
    ``data.neighbours_per_id > 1`` each epoch's batches also depend on ``model``'s classifier at the epoch start
    (hard-identity mining; a resumed run restores those weights first, so it still replays the same batches).
    """
    from m3dreid.data import build_train_loader
    from m3dreid.data.loader import on_device
    from m3dreid.utils.device import resolve_device

    steps = config.train.iters_per_epoch
    loader = build_train_loader(
        dataset,
        config.data,
        seed=config.train.seed,
        rank=rank,
        world_size=world_size,
        num_batches=steps * world_size if steps > 0 else None,
    )

    batches = loader
    if config.data.uint8_clips:  # uint8 frames from the workers, normalised on the training device
        batches = on_device(loader, config.data, resolve_device(device or config.train.device))

    def epoch_loader(epoch: int) -> Iterable:
        loader.batch_sampler.set_epoch(epoch)
        if config.data.neighbours_per_id > 1 and model is not None:
            loader.batch_sampler.set_similarity(classifier_similarity(model))
        return batches

    return epoch_loader


def _periodic_evaluation(dataset: Any, config: Config) -> Callable[[nn.Module, int], dict[str, float]]:
    """``(model, epoch) -> {mAP, rank1}`` on the query / gallery of ``dataset``, for ``train.eval_every``."""

    def evaluate(model: nn.Module, epoch: int) -> dict[str, float]:
        from m3dreid.evaluation.evaluate import eval_settings, evaluate_features
        from m3dreid.evaluation.features import dataset_features

        features = dataset_features(model, dataset, config, device="auto")
        result = evaluate_features(features, **eval_settings(config.eval))
        return {"mAP": result.mAP, "rank1": result.rank(1)}

    return evaluate


def train_from_config(
    config: Config,
    *,
    run_dir: str | Path | None = None,
    resume: str | Path | bool | None = None,
    dataset: Any = None,
    device: str | None = None,
) -> TrainResult:
    """Build dataset, model and loader from ``config`` and train; ``resume`` continues ``run_dir/last.pt`` (True)."""
    from m3dreid.data import dataset_from_config

    run_dir = Path(run_dir or config.output_dir)
    # ---- distributed (torchrun) begin: m3dreid.engine.distributed; a no-op without the torchrun environment ----
    from m3dreid.engine import distributed

    dist_info = distributed.init_distributed(device=device or config.train.device)
    wrap = None
    if dist_info.world_size > 1:  # one device per rank, DDP (+ SyncBN), disjoint batches, rank 0 logs and saves
        device = str(dist_info.device)
        wrap = functools.partial(distributed.wrap_model, device=dist_info.device, sync_bn=config.train.sync_bn)
        if not dist_info.is_main:
            logging.getLogger("m3dreid").setLevel(logging.WARNING)
    # ---- distributed end ----
    seed_everything(config.train.seed)  # the model's initial weights depend on the seed only
    dataset = dataset if dataset is not None else dataset_from_config(config.data)
    log.info("%s", dataset.summary())
    num_classes = dataset.num_train_pids
    model = build_model(config, num_classes=num_classes)
    std = config.train.classifier_init_std
    if std > 0 and isinstance(getattr(model, "classifier", None), nn.Linear):
        # Why (docs/generalisation.md): rows drawn at std 0.001 start equal to within noise, so identities that look
        # alike keep one shared row and their softmax gradient inside the group vanishes; distinct rows keep it.
        nn.init.normal_(model.classifier.weight, std=std)
    if config.model.checkpoint and not resume:  # fine-tuning: start from trained weights, a new classifier
        fit = load_weights(model, config.model.checkpoint, skip_modules=("classifier",))
        log.info("initialised from %s (%d tensors kept at init: %s)", config.model.checkpoint, len(fit.kept_init),
                 list(fit.kept_init))  # fmt: skip
    trainer = Trainer(
        model=model,
        config=config,
        run_dir=run_dir,
        epoch_loader=make_epoch_loader(
            dataset, config, rank=dist_info.rank, world_size=dist_info.world_size, model=model, device=device
        ),
        device=device,
        is_main=dist_info.is_main,
        wrap_model=wrap,
        evaluate_fn=_periodic_evaluation(dataset, config) if config.train.eval_every > 0 else None,
        meta={"num_classes": num_classes, "model": config.model.name},
    )
    try:
        return trainer.fit(resume=resume)
    finally:
        if dist_info.world_size > 1:
            distributed.cleanup_distributed()


def assemble_two_stream(config: Config, *, out: str | Path | None = None) -> Path:
    """Build the two-stream model of ``config`` from two separately trained stream checkpoints; train nothing.

    ``model.kwargs.spatial_checkpoint`` (a 2D run) and ``model.kwargs.temporal_checkpoint`` (an M3D run) are loaded
    by the two-stream builder into its streams, as the paper trains the streams separately and only concatenates
    their features. The result is a weights file ``out`` (default ``output_dir/model.pt``) for ``model.checkpoint``.
    """
    paths = {key: config.model.kwargs.get(key, "") for key in ASSEMBLY_KEYS}
    if not all(paths.values()):
        raise CheckpointError(
            "two-stream assembly needs model.kwargs.spatial_checkpoint and model.kwargs.temporal_checkpoint"
        )
    model = build_model(config, num_classes=0)
    for attr in ASSEMBLY_KEYS.values():
        if not isinstance(getattr(model, attr, None), nn.Module):
            raise TypeError(f"{config.model.name} has no '{attr}' stream: it is not a two-stream model")
    out = Path(out or Path(config.output_dir) / MODEL_FILE)
    meta = {"num_classes": 0, "model": config.model.name, "assembled_from": {k: str(v) for k, v in paths.items()}}
    atomic_save({"model": model.state_dict(), "config": config_to_dict(config), "meta": meta}, out)
    save_config(config, out.parent / CONFIG_NAME)
    log.info("assembled %s from %s and %s", out, *paths.values())
    return out
