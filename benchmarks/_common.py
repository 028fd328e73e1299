"""Shared pieces of the benchmark scripts (a helper, not a benchmark: run_all.py skips files starting with '_').

Timing is interleaved: within one configuration every model runs once per round, round after round, so clock drift,
thermal throttling or a noisy neighbour hits all models alike and the ratios stay honest. Each figure is the fastest
round: noise from other processes only ever adds time, so the minimum is the most stable estimate of the cost.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch

# run from a checkout without installing: make `import m3dreid` find src/
_SRC = Path(__file__).resolve().parents[1] / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

NO_GPU_LINE = "GPU rows not run: no CUDA device"


def pick_device(name: str) -> torch.device:
    """``--device``: the training engine's rule (``auto`` = CUDA when there is one), a usage error otherwise."""
    from m3dreid.utils.device import resolve_device

    try:
        return resolve_device(name)
    except RuntimeError:
        raise SystemExit(f"--device {name}: CUDA is not available") from None


def describe_device(device: torch.device) -> str:
    """One line naming the hardware the figures come from."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU {cpu}, {cores} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(
    fns: dict[str, Callable[[], object]], *, device: torch.device, warmup: int, rounds: int
) -> dict[str, float]:
    """Seconds per call of each function (fastest round), timed round-robin (one call of each per round)."""
    return {name: min(values) for name, values in time_rounds(fns, device=device, warmup=warmup, rounds=rounds).items()}


def time_rounds(
    fns: dict[str, Callable[[], object]],
    *,
    device: torch.device,
    warmup: int,
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds of every timed call of each function, round by round (index i of every list = round i).

    ``clock=time.process_time`` times the CPU seconds this process used (CPU only): on a machine shared with other
    jobs a neighbour takes the core away without adding to that count (it still slows us through shared caches).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            sync(device)
            start = clock()
            fn()
            sync(device)
            times[name].append(clock() - start)
    return times


def to_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """channels_last for 4D and channels_last_3d for 5D weights (Module.to only handles 4D)."""
    for param in model.parameters():
        if param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)
        elif param.dim() == 5:
            param.data = param.data.contiguous(memory_format=torch.channels_last_3d)
    return model


def random_clip(
    batch: int, frames: int, channels: int, height: int, width: int, *, device: torch.device, channels_last: bool
) -> torch.Tensor:
    """A (B, T, C, H, W) clip; with ``channels_last`` each frame is NHWC in memory, as a channels_last loader gives."""
    x = torch.randn(batch * frames, channels, height, width, device=device)  # (B*T, C, H, W)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.view(batch, frames, channels, height, width)  # (B, T, C, H, W)


def build_model(name: str, *, num_classes: int, depth: int, base_channels: int) -> torch.nn.Module:
    """A registered model; ``depth``/``base_channels`` only where they differ from the builder defaults."""
    from m3dreid import create_model, list_models

    if name not in list_models():
        raise SystemExit(f"model '{name}' is not registered (known: {', '.join(list_models()) or 'none'})")
    kwargs: dict = {"num_classes": num_classes}
    if depth != 50:
        kwargs["depth"] = depth
    if base_channels != 64:
        kwargs["base_channels"] = base_channels
    return create_model(name, **kwargs)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def parse_ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cycling_frames(
    pool_size: int, channels: int, height: int, width: int, *, device: torch.device
) -> Callable[[object, Sequence[int]], torch.Tensor]:
    """A ``load_frames_fn`` for extraction that cycles through ``pool_size`` random frames: only a window is made."""
    pool = torch.randn(pool_size, channels, height, width, device=device)  # (P, C, H, W)

    def load_frames(_tracklet, indices) -> torch.Tensor:  # (len(indices), C, H, W)
        return pool[torch.as_tensor(indices, device=device) % pool_size]

    return load_frames


@contextmanager
def peak_memory(device: torch.device) -> Iterator[dict]:
    """Growth of peak memory and wall time of the ``with`` block, filled into the yielded dict on exit.

    On CUDA: ``max_memory_allocated`` over the allocation before. On the CPU: the peak resident set (``ru_maxrss``)
    over the resident size before; ``exact`` is False when the block stayed under an earlier high-water mark (the
    figure is then only an upper bound).
    """
    result: dict = {}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    else:
        before = rss_bytes()
        high_water_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    yield result
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        peak, exact = torch.cuda.max_memory_allocated(device) - before, True
    else:
        high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak, exact = high_water - before, high_water > high_water_before
    result.update(peak_mb=peak / 2**20, exact=exact, seconds=time.perf_counter() - start)


def run_child(script: str, child: str, *, what: str, env: dict | None = None) -> dict:
    """Run ``script`` again in a fresh process with this command line plus ``--child child``; its last line is JSON.

    A fresh process a measurement keeps peaks from mixing; a failure stops the benchmark with the child's stderr.
    """
    command = [sys.executable, str(Path(script).resolve()), *sys.argv[1:], "--child", child]
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
