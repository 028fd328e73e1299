"""From a resolved config to a trained, assembled or evaluated model: the glue the CLI commands and the demo share.

Models come from the registry (``model.name`` + ``model.kwargs``), datasets from ``m3dreid.data``, metrics from
``m3dreid.evaluation``. Everything is built from keyword arguments here so that the commands stay thin.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from torch import nn

from m3dreid.config import Config, config_to_dict, save_config
from m3dreid.engine.checkpoint import CheckpointError, atomic_save, extract_state_dict, load_file
from m3dreid.engine.seeding import seed_everything
from m3dreid.engine.trainer import CONFIG_NAME, Trainer, TrainResult, resolve_device

__all__ = [
    "ASSEMBLY_KEYS",
    "MODEL_FILE",
    "build_model",
    "make_epoch_loader",
    "train_from_config",
    "load_for_eval",
    "assemble_two_stream",
]

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"  # weights-only file of an assembled model (two-stream)
# model.kwargs keys that name the checkpoints a two-stream model is assembled from, and the stream each fills
ASSEMBLY_KEYS = {"spatial_checkpoint": "spatial", "temporal_checkpoint": "temporal"}


def _builder_kwargs(config: Config, num_classes: int) -> dict[str, Any]:
    from m3dreid.registry import MODELS, _load_model_modules

    _load_model_modules()
    kwargs = dict(config.model.kwargs)
    params = inspect.signature(MODELS.get(config.model.name)).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    optional = {"embed_dim": config.model.embed_dim, "pretrained": config.model.pretrained}
    for key, value in optional.items():  # pass the config's model fields the builder knows about
        if key not in kwargs and (key in params or takes_any) and value != "":
            kwargs[key] = value
    return {"num_classes": num_classes, **kwargs}


def build_model(config: Config, *, num_classes: int) -> nn.Module:
    """The registered model ``model.name`` with ``num_classes`` training identities and ``model.kwargs``."""
    from m3dreid.registry import create_model

    return create_model(config.model.name, **_builder_kwargs(config, num_classes))


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
    dataset: Any, config: Config, *, rank: int = 0, world_size: int = 1, model: nn.Module | None = None
) -> Callable[[int], Iterable]:
    """``epoch -> batches``: one P x K loader whose batches depend on the run seed and the epoch only (exact resume).

    ``train.iters_per_epoch`` (steps on this process) becomes the sampler's global number of batches. With
    ``data.neighbours_per_id > 1`` each epoch's batches also depend on ``model``'s classifier at the epoch start
    (hard-identity mining; a resumed run restores those weights first, so it still replays the same batches).
    """
    from m3dreid.data import build_train_loader

    steps = config.train.iters_per_epoch
    loader = build_train_loader(
        dataset,
        config.data,
        seed=config.train.seed,
        rank=rank,
        world_size=world_size,
        num_batches=steps * world_size if steps > 0 else None,
    )

    def epoch_loader(epoch: int) -> Iterable:
        loader.batch_sampler.set_epoch(epoch)
        if config.data.neighbours_per_id > 1 and model is not None:
            loader.batch_sampler.set_similarity(classifier_similarity(model))
        return loader

    return epoch_loader


def _load_matching(model: nn.Module, path: str | Path, *, skip_modules: tuple[str, ...] = ()) -> list[str]:
    """Load a checkpoint's weights into ``model``; keys inside a ``skip_modules`` module (the classifier) may differ.

    Returns the skipped keys. Anything else missing or mis-shaped is a CheckpointError naming the file.
    """
    state = extract_state_dict(load_file(path), path)
    own = model.state_dict()

    def skippable(key: str) -> bool:  # a key inside a skipped module, at any depth (e.g. 'spatial.classifier.weight')
        return bool(set(key.split(".")[:-1]) & set(skip_modules))

    missing = [k for k in own if k not in state and not skippable(k)]
    unexpected = [k for k in state if k not in own and not skippable(k)]
    misshaped = [k for k in own if k in state and own[k].shape != state[k].shape and not skippable(k)]
    if missing or unexpected or misshaped:
        parts = [f"missing {missing[:5]}" * bool(missing), f"unexpected {unexpected[:5]}" * bool(unexpected)]
        parts += [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}" for k in misshaped[:5]]
        raise CheckpointError(f"{path}: does not fit model: " + "; ".join(p for p in parts if p))
    keep = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(keep, strict=False)
    return sorted(set(own) - set(keep))


def _periodic_evaluation(dataset: Any, config: Config) -> Callable[[nn.Module, int], dict[str, float]]:
    """``(model, epoch) -> {mAP, rank1}`` on the query / gallery of ``dataset``, for ``train.eval_every``."""

    def evaluate(model: nn.Module, epoch: int) -> dict[str, float]:
        from m3dreid.data.loader import load_frames
        from m3dreid.evaluation.evaluate import eval_settings, evaluate_features
        from m3dreid.evaluation.features import features_from_dataset

        features = features_from_dataset(
            model,
            dataset,
            load_frames_fn=lambda tracklet, indices: load_frames(tracklet, config.data, indices),
            chunk_size=config.eval.chunk_size,
            device="auto",
            amp=config.train.amp,
        )
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
        skipped = _load_matching(model, config.model.checkpoint, skip_modules=("classifier",))
        log.info("initialised from %s (%d tensors kept at init: %s)", config.model.checkpoint, len(skipped), skipped)
    trainer = Trainer(
        model=model,
        config=config,
        run_dir=run_dir,
        epoch_loader=make_epoch_loader(
            dataset, config, rank=dist_info.rank, world_size=dist_info.world_size, model=model
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


def _num_classes_of(path: str | Path) -> int:
    obj = load_file(path)
    meta = obj.get("meta", {}) if isinstance(obj, dict) else {}
    return int(meta.get("num_classes", 0))


def load_for_eval(config: Config, *, checkpoint: str | Path | None = None, device: str | None = None) -> nn.Module:
    """The model of ``config`` with the weights of ``checkpoint`` (default ``model.checkpoint``), in eval mode.

    The classifier is not needed for retrieval: the model is built with the checkpoint's number of classes when the
    checkpoint records it, and classifier weights that do not fit are left out.
    """
    path = checkpoint or config.model.checkpoint
    assembled = all(config.model.kwargs.get(key) for key in ASSEMBLY_KEYS)  # streams load their own checkpoints
    if not path and not assembled:
        raise CheckpointError("no checkpoint to evaluate: set model.checkpoint=PATH (a last.pt or model.pt)")
    model = build_model(config, num_classes=_num_classes_of(path) if path else 0)
    if path:
        _load_matching(model, path, skip_modules=("classifier",))
    dev = resolve_device(device or config.train.device)
    return model.to(dev).eval()


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
