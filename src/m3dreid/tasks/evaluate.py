"""Evaluate a trained run: find its checkpoint, load the model as the checkpoint says, extract, rank, save.

Features go to ``RUN/features.npz`` (so ``m3dreid rerank`` / ``report`` run again without the network) and the metrics
to ``RUN/results.json``. For datasets in the MARS layout both protocols are measured from one extraction: the official
gallery holds every test tracklet, the torchreid gallery is a subset of it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

from torch import nn

from m3dreid.config import Config
from m3dreid.models.build import ASSEMBLY_KEYS, build_model, load_trained
from m3dreid.utils.device import resolve_device
from m3dreid.weights import CheckpointError

__all__ = ["CHECKPOINT_NAMES", "find_checkpoint", "load_for_eval", "extract_split", "evaluate_run"]

log = logging.getLogger(__name__)

# what a run folder's own trained model is called, in the order it is looked for: an assembled two-stream model,
# then the training state
CHECKPOINT_NAMES = ("model.pt", "last.pt")


def find_checkpoint(config: Config, checkpoint: str | Path | None = None) -> Path | None:
    """The checkpoint to evaluate: the one given, else ``model.checkpoint``, else the run's own in ``output_dir``."""
    if checkpoint or config.model.checkpoint:
        return Path(checkpoint or config.model.checkpoint)
    for name in CHECKPOINT_NAMES:
        path = Path(config.output_dir) / name
        if path.is_file():
            return path
    return None


def load_for_eval(
    config: Config,
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    check_config: bool | Collection[str] = True,
) -> nn.Module:
    """The trained model of a run in eval mode, built as its checkpoint's saved config says.

    The checkpoint is found by :func:`find_checkpoint`; ``config``'s architecture values must agree with the
    checkpoint's (see :func:`m3dreid.models.build.load_trained`): all of them with ``check_config=True``, none with
    False, or only the dotted keys given (what the user set: :func:`m3dreid.config.explicit_keys`). A
    two-stream config that names its streams' checkpoints and has none of its own is built from the streams.
    """
    path = find_checkpoint(config, checkpoint)
    assembled = all(config.model.kwargs.get(key) for key in ASSEMBLY_KEYS)  # streams load their own checkpoints
    dev = resolve_device(device or config.train.device)
    if path is None and assembled:
        return build_model(config, num_classes=0).to(dev).eval()
    if path is None:
        looked = ", ".join(str(Path(config.output_dir) / n) for n in CHECKPOINT_NAMES)
        raise CheckpointError(f"no checkpoint to evaluate (looked for {looked}): set model.checkpoint=PATH")
    keys = None if isinstance(check_config, bool) else set(check_config)
    model, _ = load_trained(path, config=config if check_config is not False else None, keys=keys, device=dev)
    return model


def extract_split(
    config: Config,
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    dataset: Any = None,
    progress: bool = False,
    out: str | Path | None = None,
    check_config: bool | Collection[str] = True,
) -> tuple[Any, Path]:
    """Whole-tracklet features of the config's dataset (query, then gallery), saved; ``(FeatureSet, file)``.

    ``out``: a ``.npz`` file or a run folder (default ``output_dir``), which gets ``features.npz``.
    """
    from m3dreid.data import dataset_from_config
    from m3dreid.evaluation.features import dataset_features, save_features
    from m3dreid.report.runs import FEATURES_FILE

    dataset = dataset if dataset is not None else dataset_from_config(config.data)
    model = load_for_eval(config, checkpoint=checkpoint, device=device, check_config=check_config)
    ev = config.eval
    used = find_checkpoint(config, checkpoint)
    meta = {"model": config.model.name, "checkpoint": str(used or ""), "metric": ev.distance,
            "chunk_size": ev.chunk_size, "flip": ev.flip}  # fmt: skip
    features = dataset_features(
        model, dataset, config, device=next(model.parameters()).device, progress=progress, meta=meta
    )
    out = Path(out or config.output_dir)
    path = out if out.suffix == ".npz" else out / FEATURES_FILE
    save_features(features, path)
    return features, path


def _other_protocol_features(features: Any, config: Config, dataset: Any) -> tuple[str, Any] | None:
    """The features of the other MARS protocol, cut from those of the official (superset) gallery."""
    from m3dreid.data import dataset_from_config, dataset_info
    from m3dreid.evaluation.features import FeatureSet

    protocols = dataset_info(config.data.dataset)["protocols"]  # MARS layout: official (superset) and torchreid
    if len(protocols) < 2 or dataset.protocol != protocols[0]:
        return None
    other = dataset_from_config(dataclasses.replace(config.data, protocol=protocols[1]))
    row = {t: i for i, t in enumerate(dataset.gallery)}
    if list(other.query) != list(dataset.query) or any(t not in row for t in other.gallery):
        return None
    keep = [row[t] for t in other.gallery]
    cut = {name: getattr(features, f"g_{name}")[keep] for name in ("feats", "pids", "camids", "lengths", "paths")}
    fields = {f.name: getattr(features, f.name) for f in dataclasses.fields(FeatureSet)}
    fields.update({f"g_{name}": value for name, value in cut.items()})
    fields.update(junk_pids=tuple(sorted(other.junk_pids)), ap_definition=other.ap_definition)
    return other.protocol, FeatureSet(**fields)


def evaluate_run(
    config: Config,
    *,
    checkpoint: str | Path | None = None,
    run_dir: str | Path | None = None,
    device: str | None = None,
    rerank: bool | None = None,
    progress: bool = False,
    dataset: Any = None,
    check_config: bool | Collection[str] = True,
) -> dict[str, Any]:
    """Extract, save and evaluate; returns ``label -> RankingResult`` (label = metric, '+rerank', '(protocol)')."""
    from m3dreid.data import dataset_from_config
    from m3dreid.evaluation.evaluate import eval_settings, evaluate_features
    from m3dreid.evaluation.groups import group_map
    from m3dreid.report.runs import write_results

    ev = config.eval
    run_dir = Path(run_dir or config.output_dir)
    dataset = dataset if dataset is not None else dataset_from_config(config.data)
    features, _ = extract_split(
        config,
        checkpoint=checkpoint,
        device=device,
        dataset=dataset,
        progress=progress,
        out=run_dir,
        check_config=check_config,
    )
    sets = [(dataset.protocol, features)]
    other = _other_protocol_features(features, config, dataset)
    if other is not None:
        sets.append(other)
    results = {}
    for index, (protocol, feats) in enumerate(sets):
        for rr in (False, True) if (ev.rerank if rerank is None else rerank) else (False,):
            label = ev.distance + ("+rerank" if rr else "") + (f" ({protocol} protocol)" if index else "")
            result = evaluate_features(feats, rerank=rr, device=device or "auto", **eval_settings(ev))
            extra = {"metric": ev.distance, "rerank": rr, "protocol": protocol, "dataset": dataset.name}
            groups = group_map(result, feats.q_pids, config.data.root)  # {} unless the data set defines groups
            if groups:
                extra["groups"] = groups
            write_results(run_dir, result, label=label, extra=extra)
            results[label] = result
    return results
