"""Run configuration: typed, frozen dataclasses with defaults, loaded from YAML and overridden from the CLI.

A YAML file holds any subset of the sections below; ``_base_: other.yaml`` (relative to the file) is loaded first and
the file's keys are merged over it. CLI overrides are ``section.key=value`` strings whose value is parsed as YAML.
Unknown keys and values of the wrong type are errors that name the file (or ``--set``) and the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from m3dreid.errors import UserError
from m3dreid.utils.io import atomic_write_text

__all__ = [
    "ConfigError",
    "ModelConfig",
    "DataConfig",
    "VideoConfig",
    "TrainConfig",
    "EvalConfig",
    "Config",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "apply_overrides",
    "explicit_keys",
    "save_config",
    "dump_config",
]


class ConfigError(UserError, ValueError):
    """A config file or override is wrong; the message names the source and the key."""


@dataclass(frozen=True)
class ModelConfig:
    name: str = "m3d_resnet50"  # a registered model, see `m3dreid list-models`
    pretrained: str = ""  # local path to torchvision-style ImageNet weights ('' = random init)
    embed_dim: int = 128  # the paper trains a 128-d embedding
    checkpoint: str = ""  # a trained m3dreid checkpoint to start from / evaluate
    # arguments of the model's builder, e.g. depth, base_channels, local_n, global_n, global_act (see
    # `m3dreid list-models` and the README's "model.kwargs" table); a trained checkpoint records them
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "synthetic"  # mars | duke_video | prid2011 | ilids_vid | synthetic
    root: str = "data/synthetic"  # the dataset's folder in its original layout
    protocol: str = "official"  # MARS only: official (MATLAB kit) | torchreid (queries removed from gallery)
    split: int = 0  # PRID2011 / iLIDS-VID: which of the 10 splits
    height: int = 256
    width: int = 128
    seq_len: int = 16  # frames a training clip (the paper samples 16 adjacent frames)
    ids_per_batch: int = 5  # P identities a batch ...
    tracklets_per_id: int = 2  # ... x K tracklets each (paper: 10 sequences a batch)
    neighbours_per_id: int = 0  # hard-identity mining: P/m sampled ids + each one's m-1 nearest by classifier (0 = off)
    hflip: float = 0.5  # probability of a horizontal flip of a whole clip
    random_erasing: float = 0.5  # probability of random erasing (same box over the clip)
    shift_px: int = 0  # random translation of a whole clip by up to this many pixels in x and y (0 = off)
    color_jitter: float = 0.0  # per-clip, per-channel gain 1 +- j and offset +- j (normalised units); 0 = off
    mean: tuple = (0.485, 0.456, 0.406)  # subtracted from each channel (the paper subtracts the mean)
    std: tuple = (0.229, 0.224, 0.225)
    workers: int = 2  # DataLoader worker processes
    with_flow: bool = False  # add 2 optical-flow channels (for the A&O two-stream baseline)
    flow_cache: str = ""  # folder for cached optical flow ('' = a .m3dreid_flow folder beside each tracklet's frames)
    cache: str = ""  # packed frame cache file from `m3dreid cache` (decoded frames at height x width; '' = JPEGs)
    uint8_clips: bool = False  # workers send uint8 frames, normalised on the training device (4x fewer bytes)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 400
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_step: int = 120  # divide the lr by 10 every lr_step epochs
    lr_gamma: float = 0.1
    optimizer: str = "sgd"  # sgd | adam
    loss: str = "softmax"  # softmax | softmax+triplet
    triplet_margin: float = 0.3
    triplet_weight: float = 1.0
    iters_per_epoch: int = 0  # 0 = one pass over the identities
    amp: bool = True  # bf16 autocast (on CUDA; on a CPU only with fast_paths_on_cpu)
    channels_last: bool = True  # channels_last weights (on CUDA; on a CPU only with fast_paths_on_cpu)
    compile: bool = False  # torch.compile the model (on CUDA; on a CPU only with fast_paths_on_cpu)
    fast_paths_on_cpu: bool = False  # honour amp / channels_last / compile on a CPU too (tests of those paths)
    seed: int = 0
    classifier_init_std: float = 0.0  # re-draw the softmax classifier's rows N(0, std) before training (0 = builder's)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    log_every: int = 20  # iterations between log lines
    save_every: int = 1  # epochs between checkpoints
    checkpoint_every: int = 0  # steps between mid-epoch checkpoints (0 = epoch ends only; Ctrl-C / SIGTERM always save)
    eval_every: int = 0  # epochs between evaluations (0 = only at the end)
    tensorboard: bool = False
    sync_bn: bool = False  # SyncBatchNorm under torchrun


@dataclass(frozen=True)
class EvalConfig:
    chunk_size: int = 64  # frames through the network at once (whole tracklets are chunked, bounded memory)
    distance: str = "euclidean"  # euclidean | cosine
    flip: bool = False  # average features of the clip and its mirror image
    rerank: bool = False  # k-reciprocal re-ranking
    k1: int = 20
    k2: int = 6
    lambda_value: float = 0.3
    max_rank: int = 20
    batch_tracklets: int = 1  # tracklets extracted together (same-length batching)


@dataclass(frozen=True)
class VideoConfig:
    """``m3dreid tracklets``: detector and tracker settings (the command line's flags override these)."""

    detector: str = "hog"  # hog | motion | onnx
    detector_model: str = ""  # onnx: the .onnx file (YOLO-style person detector, see m3dreid.video.onnx_detector)
    min_height: float = 0.0  # hog: shortest person to find in px (0 = the frame as it is: people from ~96 px)
    hog_scale: float = 1.1  # hog: pyramid step (1.05 finds a little more, at about twice the time)
    hit_threshold: float = 0.0  # hog: SVM score below which windows are not returned
    nms_iou: float = 0.3  # hog / onnx: greedy NMS overlap
    win_stride: int = 8  # hog: window step in px
    score_threshold: float = 0.1  # onnx: least person score kept (the tracker splits high / low above it)
    detector_layout: str = "yolov8"  # onnx: yolov8 (box + class scores) | yolov5 (box + objectness + class scores)
    person_class: int = 0  # onnx: the person's class index (COCO: 0)
    detect_every: int = 1  # run the detector every k-th frame, the tracks' Kalman prediction in between
    tracker: str = "byte"  # byte (two-stage, high then low scores) | iou (one stage, every detection alike)
    high_score: float | None = None  # byte: first-stage score (None: the detector's own: hog 1.0, onnx 0.5)
    low_score: float | None = None  # byte: least second-stage score (None: hog 0, onnx 0.1)
    iou: float = 0.3  # least IoU to link a detection to a track
    low_iou: float = 0.5  # byte: least IoU for a low-score detection
    max_age: int = 15  # frames a lost track is kept
    min_hits: int = 3  # frames before a new track is trusted
    max_gap: int = 15  # byte: longest gap (frames) bridged by interpolation when a track is found again
    relink_gap: int = 100  # --relink: longest gap (frames) between two tracks it may join (4 s at 25 frames/s)


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    output_dir: str = "runs/default"  # where checkpoints, logs, features and the resolved config go


def _check_type(value: Any, annotation: Any, where: str) -> Any:
    """Return ``value`` converted to ``annotation`` where that is lossless, else raise ConfigError."""
    target = annotation if isinstance(annotation, type) else typing.get_origin(annotation) or annotation
    if isinstance(annotation, types.UnionType):
        if value is None and type(None) in annotation.__args__:
            return None
        target = tuple(a for a in annotation.__args__ if a is not type(None))[0]
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if target is tuple and isinstance(value, list):
        return tuple(value)
    if target is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if target is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if not isinstance(value, target):
        raise ConfigError(f"{where}: expected {target.__name__}, got {type(value).__name__} {value!r}")
    return value


# Keys whose value is one of a few names: checked here so that the error names the file and the key.
CHOICES = {
    "data.protocol": ("official", "torchreid"),
    "train.optimizer": ("sgd", "adam"),
    "train.loss": ("softmax", "triplet", "softmax+triplet"),
    "eval.distance": ("euclidean", "cosine"),
}


def _build(cls: type, values: dict, source: str, prefix: str = "") -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: '{prefix.rstrip('.') or 'top level'}' must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        where = f"{source}: '{prefix}{key}'"
        if key not in fields:
            hint = ""
            if prefix == "model.":  # builder arguments (depth, local_n, global_act, ...) are not ModelConfig fields
                hint = f"; builder arguments of the model go under model.kwargs: --set model.kwargs.{key}=..."
            raise ConfigError(f"{source}: unknown key '{prefix}{key}' (known: {', '.join(fields)}){hint}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, source, f"{prefix}{key}.")
        else:
            kwargs[key] = _check_type(value, hint, where)
            known = CHOICES.get(f"{prefix}{key}")
            if known and kwargs[key] not in known:
                raise ConfigError(f"{where}: {kwargs[key]!r} is not one of {', '.join(known)}")
    return cls(**kwargs)


def config_to_dict(config: Any) -> dict:
    """Plain nested dict of a config (tuples become lists), ready for YAML."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(config)


def config_from_dict(values: dict, source: str = "<dict>") -> Config:
    return _build(Config, values, source)


def _merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "kwargs":
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if path in seen:
        raise ConfigError(f"{path}: _base_ loop through {' -> '.join(map(str, seen))}")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(f"{path}: line {line} is not UTF-8 text (byte 0x{data[err.start]:02x})") from None
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    base = values.pop("_base_", None)
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"{path}: _base_ must be a file name, got {base!r}")
    if base is not None:
        base_path = (path.parent / base).resolve()
        if not base_path.is_file():
            raise ConfigError(f"{path}: _base_ {base!r} not found ({base_path})")
        values = _merge(_read_yaml(base_path, (*seen, path)), values)
    return values


def apply_overrides(values: dict, overrides: list[str] | tuple[str, ...], source: str = "--set") -> dict:
    """Apply ``section.key=value`` strings (value parsed as YAML) to a nested dict."""
    values = _merge({}, values)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{source}: '{item}' is not of the form section.key=value")
        dotted, raw = item.split("=", 1)
        try:
            parsed = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            parsed = raw
        node = values
        parts = dotted.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{source}: '{dotted}' goes through a value that is not a section")
        node[parts[-1]] = parsed
    return values


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Defaults, then the YAML file (with its ``_base_`` chain), then the overrides."""
    if path:
        from m3dreid.resources import config_path, packaged_configs

        found = config_path(path)
        if not found.is_file():
            raise ConfigError(f"{path}: config file not found (nor a packaged config: {', '.join(packaged_configs())})")
        values = _read_yaml(found.resolve())
    else:
        values = {}
    source = str(path) if path else "<defaults>"
    config = config_from_dict(values, source)  # report file errors against the file ...
    if overrides:  # ... and override errors against --set
        config = config_from_dict(apply_overrides(config_to_dict(config), overrides), "--set")
    return config


def explicit_keys(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The dotted keys a YAML file (with its ``_base_`` chain) and the overrides set themselves, not left to defaults
    (``model.kwargs.global_act``, ``data.root``, ...): what a user actually said."""
    from m3dreid.resources import config_path

    values = _read_yaml(config_path(path).resolve()) if path else {}
    values = apply_overrides(values, overrides)

    def walk(node: Any, prefix: str) -> set[str]:
        if not isinstance(node, dict):
            return {prefix}
        return (
            set().union(*(walk(v, f"{prefix}.{k}" if prefix else str(k)) for k, v in node.items())) if node else set()
        )

    return walk(values, "")


def dump_config(config: Config) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


def save_config(config: Config, path: str | Path) -> Path:
    """Write the resolved config as YAML (atomically), e.g. beside every run."""
    return atomic_write_text(path, dump_config(config))
