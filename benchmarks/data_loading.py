"""Decoding throughput of the training loader and test-time tracklet loading, on MARS-sized JPEGs (CPU only).

Question answered: can the data pipeline keep a GPU busy? Frames of 256x128 (the MARS crop size) are written as
JPEGs to a temporary MARS-layout folder, then timed: raw ``cv2.imread``; the full training path
(``build_train_loader``: P x K sampling, 16-frame clips, resize, flip, erasing, normalisation, collation) with 0, 1
and 2 workers; and ``load_tracklet`` on whole tracklets. Compare the frames/s with what a model consumes (NOTES:
M3D ResNet-50 training on one H100 takes about 2,000 frames/s fp32, 3,500 bf16): the last column is the number of
workers at this per-worker rate needed to feed 3,500 frames/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts src/ on the path)
import cv2
import numpy as np
from _common import describe_device, markdown_table

from m3dreid.config import DataConfig
from m3dreid.data import Tracklet, VideoDataset, build_train_loader, load_tracklet

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    print(describe_device(__import__("torch").device("cpu")))
    batches = 4 if args.quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        train = write_tracklets(Path(tmp), ids=16, per_id=2, frames=48)
        ds = VideoDataset(name="bench", train=train, query=[], gallery=[], train_pids_original=tuple(range(16)))
        cfg = DataConfig(height=256, width=128, seq_len=16, ids_per_batch=4, tracklets_per_id=2)
        rows = []
        paths = [p for t in train for p in t.frames][:400]
        start = time.perf_counter()
        for p in paths:
            cv2.imread(p)
        rate = len(paths) / (time.perf_counter() - start)
        rows.append(["cv2.imread only", "0", f"{rate:,.0f}", "-", f"{GPU_FRAMES_PER_S / rate:.1f}"])
        for workers in args.workers:
            loader = build_train_loader(ds, dataclasses.replace(cfg, workers=workers), seed=0, num_batches=batches + 1)
            it = iter(loader)
            next(it)  # start-up (worker processes) not counted
            start = time.perf_counter()
            clips = sum(next(it)[0].shape[0] for _ in range(batches))
            elapsed = time.perf_counter() - start
            per_worker = clips * cfg.seq_len / elapsed / max(1, workers)
            rows.append([
                "train loader (B=8, T=16, aug)", str(workers), f"{clips * cfg.seq_len / elapsed:,.0f}",
                f"{clips / elapsed:,.1f}", f"{GPU_FRAMES_PER_S / per_worker:.1f}",
            ])  # fmt: skip
            del it, loader
        start = time.perf_counter()
        n = sum(load_tracklet(t, cfg).shape[0] for t in train[: 4 if args.quick else 16])
        rate = n / (time.perf_counter() - start)
        rows.append(["load_tracklet (test)", "0", f"{rate:,.0f}", "-", f"{GPU_FRAMES_PER_S / rate:.1f}"])
    print(f"\nMARS-sized JPEG frames (256x128), {os.cpu_count()} CPUs visible\n")
    print(markdown_table(["path", "workers", "frames/s", "clips/s", "workers for 3,500 frames/s"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
