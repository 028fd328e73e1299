"""Throughput of the training loader from JPEGs and from the packed frame cache, side by side (CPU only).

Question answered: can the data pipeline keep a GPU busy? Frames of 256x128 (the MARS crop size) are written as
JPEGs to a temporary MARS-layout folder and packed once into a frame cache (``m3dreid cache``'s
``build_frame_cache``). Then the full training path (``build_train_loader``: P x K sampling, 16-frame clips, flip,
erasing, normalisation, collation) is timed with 0, 1 and 2 workers, reading the JPEGs (decode + resize) or the cache
(``data.cache``), in alternating rounds (JPEG, cache, JPEG, ...) so that a neighbour's load hits both alike; each
figure is the median over the rounds, with the lowest and highest round. Also: raw ``cv2.imread`` and
``load_tracklet`` (test time). Compare with what a model consumes (NOTES: M3D ResNet-50 training on one H100 takes
about 2,000 frames/s fp32, 3,500 bf16): the last column is the number of workers at this per-worker rate needed to
feed 3,500 frames/s. With 0 workers the main process does the loading (counted as one worker), and the rows "per CPU
second" divide by this process's CPU time instead of wall time: what one dedicated core gives, whatever the load.
"cache + uint8" is ``data.cache`` with ``data.uint8_clips``: the workers send uint8 frames and erasing boxes and the
clips are normalised on the training device (``loader.on_device``, not timed here: on a GPU it is a few elementwise
kernels a batch), so a worker only copies frames out of the map and collates a quarter of the bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts src/ on the path)
import cv2
import numpy as np
from _common import describe_device, markdown_table

from m3dreid.config import DataConfig
from m3dreid.data import Tracklet, VideoDataset, build_train_loader, load_tracklet
from m3dreid.data.frame_cache import build_frame_cache

GPU_FRAMES_PER_S = 3500  # M3D ResNet-50 training, bf16, one H100 (NOTES.md)


def write_tracklets(root: Path, ids: int, per_id: int, frames: int, seed: int = 0) -> list[Tracklet]:
    rng = np.random.default_rng(seed)
    out = []
    for pid in range(ids):
        for k in range(per_id):
            folder = root / f"{pid:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            base = cv2.GaussianBlur(rng.uniform(0, 255, (256, 160, 3)).astype(np.float32), (0, 0), 3)
            paths = []
            for f in range(frames):
                img = np.clip(base[:, f % 32 : f % 32 + 128] + rng.normal(0, 4, (256, 128, 3)), 0, 255)
                path = folder / f"{pid:04d}C1T{k:04d}F{f + 1:03d}.jpg"
                cv2.imwrite(str(path), img.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95])
                paths.append(str(path))
            out.append(Tracklet(tuple(paths), pid, 0))
    return out


def _loader_rate(ds: VideoDataset, cfg: DataConfig, batches: int) -> tuple[float, float]:
    """Frames/s of ``batches`` training batches after the first (worker start-up is not counted): per wall second,
    and per CPU second of this process (with 0 workers, what one worker's core would give on an idle machine)."""
    it = iter(build_train_loader(ds, cfg, seed=0, num_batches=batches + 1))
    next(it)
    start, cpu = time.perf_counter(), time.process_time()
    frames = sum(next(it)[0].shape[0] for _ in range(batches)) * cfg.seq_len
    rate, cpu_rate = frames / (time.perf_counter() - start), frames / max(time.process_time() - cpu, 1e-9)
    del it
    return rate, cpu_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches and rounds")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=None, help="alternating JPEG / cache rounds (default 3, quick 2)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    print(describe_device(__import__("torch").device("cpu")))
    batches = 3 if args.quick else 8
    rounds = args.rounds or (2 if args.quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "jpegs"
        train = write_tracklets(root, ids=16, per_id=2, frames=48)
        ds = VideoDataset(
            name="bench", train=train, query=[], gallery=[], train_pids_original=tuple(range(16)), root=str(root)
        )
        jpeg = DataConfig(root=str(root), height=256, width=128, seq_len=16, ids_per_batch=4, tracklets_per_id=2)
        start = time.perf_counter()
        cache_file = build_frame_cache(ds, jpeg, Path(tmp) / "bench.m3dcache")
        build_rate = sum(len(t.frames) for t in train) / (time.perf_counter() - start)
        cached = dataclasses.replace(jpeg, cache=str(cache_file))
        sources = {"JPEG": jpeg, "cache": cached, "cache + uint8": dataclasses.replace(cached, uint8_clips=True)}
        rows = []
        paths = [p for t in train for p in t.frames][:400]
        start = time.perf_counter()
        for p in paths:
            cv2.imread(p)
        rate = len(paths) / (time.perf_counter() - start)
        rows.append(
            ["cv2.imread only", "-", "0", f"{rate:,.0f}", f"{rate:,.0f}", "-", f"{GPU_FRAMES_PER_S / rate:.1f}"]
        )
        rows.append([f"cache build ({len(train)} tracklets, 1 process)", "-", "0", f"{build_rate:,.0f}", "-", "-", "-"])
        for workers in args.workers:
            rates: dict[str, list[float]] = {name: [] for name in sources}
            cpu_rates: dict[str, list[float]] = {name: [] for name in sources}
            for _ in range(rounds):
                for name, cfg in sources.items():
                    wall, cpu = _loader_rate(ds, dataclasses.replace(cfg, workers=workers), batches)
                    rates[name].append(wall)
                    cpu_rates[name].append(cpu)
            if workers == 0:  # the main process did all the work: its CPU time is the loading cost
                for name, values in cpu_rates.items():
                    speedups = [c / j for c, j in zip(values, cpu_rates["JPEG"], strict=True)]
                    speedup = f"{statistics.median(speedups):.1f}x ({min(speedups):.1f}-{max(speedups):.1f})"
                    med = statistics.median(values)
                    rows.append([
                        "same, per CPU second", name, "0", f"{med:,.0f} ({min(values):,.0f}-{max(values):,.0f})",
                        f"{med:,.0f}", speedup if name != "JPEG" else "-", f"{GPU_FRAMES_PER_S / med:.1f}",
                    ])  # fmt: skip
            for name, values in rates.items():
                med = statistics.median(values)
                per_worker = med / max(1, workers)
                speedups = [c / j for c, j in zip(values, rates["JPEG"], strict=True)]
                speedup = f"{statistics.median(speedups):.1f}x ({min(speedups):.1f}-{max(speedups):.1f})"
                rows.append([
                    "train loader (B=8, T=16, aug)", name, str(workers),
                    f"{med:,.0f} ({min(values):,.0f}-{max(values):,.0f})", f"{per_worker:,.0f}",
                    speedup if name != "JPEG" else "-", f"{GPU_FRAMES_PER_S / per_worker:.1f}",
                ])  # fmt: skip
        start = time.perf_counter()
        n = sum(load_tracklet(t, jpeg).shape[0] for t in train[: 4 if args.quick else 16])
        rate = n / (time.perf_counter() - start)
        rows.append(
            ["load_tracklet (test)", "JPEG", "0", f"{rate:,.0f}", f"{rate:,.0f}", "-", f"{GPU_FRAMES_PER_S / rate:.1f}"]
        )
        frame_bytes = jpeg.height * jpeg.width * 3
        jpeg_bytes = sum(os.path.getsize(p) for t in train for p in t.frames) / sum(len(t.frames) for t in train)
    print(f"\nMARS-sized frames (256x128), {os.cpu_count()} CPUs visible, {rounds} alternating rounds a row\n")
    headers = ["path", "source", "workers", "frames/s (lowest-highest)", "frames/s a worker", "cache / JPEG",
               "workers for 3,500 frames/s"]  # fmt: skip
    print(markdown_table(headers, rows))
    print(
        f"\ndisk a frame: cache {frame_bytes:,} bytes (uint8 RGB at 256x128), these JPEGs {jpeg_bytes:,.0f} bytes; "
        f"memory: the cache is memory-mapped (pages the OS caches); a float32 frame is {4 * frame_bytes:,} bytes"
    )
    print("MARS at 256x128: train 509,914 frames = 50.1 GB, test 681,089 frames = 67.0 GB; at 128x64 a quarter")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
