"""Multi-process training and evaluation on PyTorch's own distributed engine (``torchrun``, DDP, gloo / NCCL).

m3dreid never manages processes itself: ``torchrun --nproc_per_node=N -m m3dreid train ...`` starts the workers and
sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads
them and joins the process group. Without those variables everything here degrades to a single process (rank 0 of
1), so library code can call :func:`is_main`, :func:`barrier` or :func:`all_gather_rows` unconditionally.

Evaluation is sharded by tracklet (:func:`shard_indices`); each rank extracts its share, and :func:`gather_sharded`
puts the features of all ranks back in dataset order. Tracklet shares differ in size by one, so the gathers here
accept tensors whose first dimension differs between ranks.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

from m3dreid.engine.sync_bn import convert_sync_batchnorm

__all__ = [
    "DistInfo",
    "env_world",
    "init_distributed",
    "cleanup_distributed",
    "is_distributed",
    "get_rank",
    "get_world_size",
    "is_main",
    "barrier",
    "all_reduce_mean",
    "all_gather_rows",
    "shard_indices",
    "gather_sharded",
    "map_sharded",
    "wrap_model",
    "unwrap_model",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job; ``world_size == 1`` means plain single-process training."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""  # '' when no process group was created
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun environment, ``(0, 1, 0)`` outside torchrun."""

    def read(name: str, default: int) -> int:
        raw = os.environ.get(name, "")
        if raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"environment variable {name}={raw!r} is not an integer") from None

    rank, world_size, local_rank = read("RANK", 0), read("WORLD_SIZE", 1), read("LOCAL_RANK", 0)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"torchrun environment: RANK={rank} does not fit WORLD_SIZE={world_size}")
    return rank, world_size, local_rank


def _pick_device(device: str, local_rank: int) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":  # one GPU per process: the process's local rank picks it
        return torch.device("cuda", local_rank)
    return torch.device(device)


def init_distributed(*, device: str = "auto", backend: str = "auto", timeout_s: float = 1800.0) -> DistInfo:
    """Join the process group described by the torchrun environment (if any) and choose this process's device.

    ``backend='auto'`` picks NCCL for CUDA devices and gloo otherwise. Calling this twice reuses the existing group.
    """
    rank, world_size, local_rank = env_world()
    dev = _pick_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world_size == 1:
        return DistInfo(device=dev)
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={world_size} but this torch build has no torch.distributed")
    if backend == "auto":
        backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if name not in os.environ:
                raise RuntimeError(f"WORLD_SIZE={world_size} but {name} is not set: start the job with torchrun")
        dist.init_process_group(
            backend=backend,
            init_method="env://",
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=timeout_s),
            device_id=dev if dev.type == "cuda" else None,
        )
        log.info("rank %d/%d joined the %s process group on %s", rank, world_size, backend, dev)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, backend=dist.get_backend(), device=dev)


def cleanup_distributed() -> None:
    """Leave the process group (a no-op outside one); call once at the end of a run."""
    if is_distributed():
        dist.destroy_process_group()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on rank 0 (and in single-process runs): only it logs progress, writes checkpoints and reports."""
    return get_rank() == 0


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of ``value`` over ranks (a copy; for logging losses and metrics, not for gradients)."""
    value = value.detach().clone()
    if is_distributed():
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= get_world_size()
    return value


def all_gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` (N_r, ...) of every rank along dim 0, in rank order; N_r may differ between ranks.

    The collective needs equal shapes, so each rank pads to the largest N_r and the padding is cut off afterwards.
    Trailing dimensions and dtype must agree on all ranks.
    """
    if not is_distributed():
        return tensor
    world = get_world_size()
    count = torch.tensor([tensor.shape[0]], dtype=torch.long, device=tensor.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    padded = tensor.new_zeros((max(sizes), *tensor.shape[1:]))  # (N_max, ...)
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=True)], dim=0)  # (sum N_r, ...)


def shard_indices(total: int, *, rank: int | None = None, world_size: int | None = None) -> list[int]:
    """This rank's share of ``range(total)`` for evaluation: every ``world_size``-th item, starting at ``rank``.

    Interleaving (rather than contiguous blocks) balances the work when item cost grows along the dataset, e.g. the
    tracklet length; shares differ in size by at most one.
    """
    rank = get_rank() if rank is None else rank
    world_size = get_world_size() if world_size is None else world_size
    return list(range(rank, total, world_size))


def gather_sharded(values: torch.Tensor, indices: list[int] | torch.Tensor, total: int) -> torch.Tensor:
    """Rows computed for ``indices`` on each rank, gathered and put back in dataset order as a (total, ...) tensor.

    Raises when the ranks' indices do not cover ``range(total)`` exactly once, which would silently misalign
    features with their identity labels.
    """
    index = torch.as_tensor(indices, dtype=torch.long, device=values.device)
    if index.shape[0] != values.shape[0]:
        raise ValueError(f"gather_sharded: {values.shape[0]} rows but {index.shape[0]} indices")
    all_index = all_gather_rows(index)  # (total,)
    all_values = all_gather_rows(values)  # (total, ...)
    if all_index.shape[0] != total or not torch.equal(torch.sort(all_index).values, torch.arange(total).to(index)):
        raise ValueError(f"gather_sharded: the ranks' indices do not cover 0..{total - 1} exactly once")
    out = all_values.new_empty((total, *values.shape[1:]))  # (total, ...)
    out[all_index] = all_values
    return out


def map_sharded(fn: Callable[[list[T]], torch.Tensor], items: Sequence[T]) -> torch.Tensor:
    """``fn(items)`` computed cooperatively: each rank runs ``fn`` on its share, all ranks get every row in order.

    E.g. ``map_sharded(lambda part: extract_features(model, part), tracklets)`` gives each rank the ``(N, D)``
    features of all tracklets while extracting only about N / world_size of them. ``fn`` must return one row per
    item, also for an empty share (a ``(0, D)`` tensor).
    """
    index = shard_indices(len(items))
    return gather_sharded(fn([items[i] for i in index]), index, len(items))


def wrap_model(
    model: nn.Module,
    *,
    device: torch.device,
    sync_bn: bool = False,
    find_unused_parameters: bool = False,
) -> nn.Module:
    """Move ``model`` to ``device`` and, inside a process group, convert BN (optionally) and wrap it in DDP.

    ``sync_bn`` turns every BatchNorm into one whose batch statistics span all ranks (torch's SyncBatchNorm on CUDA,
    m3dreid's gloo-capable one on CPU), so training with N ranks of B clips equals one process with N*B clips.
    Without it each rank normalises with its own batch statistics: the usual, faster DDP behaviour. Single-process
    runs return the model unchanged (apart from the move), so checkpoints never carry a ``module.`` prefix.
    """
    model = model.to(device)
    if not is_distributed():
        return model
    if sync_bn:
        model = convert_sync_batchnorm(model, use_torch=device.type == "cuda")
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain model inside a DDP (or torch.compile) wrapper: use it for state dicts, evaluation and export."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod
        else:
            return model
