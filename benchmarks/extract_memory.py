"""Peak memory of whole-tracklet extraction against tracklet length: chunked (m3dreid) vs one pass.

Each measurement runs in a fresh process: the model is built and warmed up, frames come from a small pool through
``load_frames_fn`` (so only each window's frames exist), then one tracklet of T frames is extracted. The figure is
the growth of the peak resident set (``ru_maxrss``) over the resident size before the call on the CPU, and
``torch.cuda.max_memory_allocated`` on a GPU.

On the CPU, glibc's *dynamic* mmap threshold makes the resident peak of any program that frees and reallocates
large buffers step up now and then (a freed 30 MB buffer raises the threshold, later buffers of that size come from
the fragmenting heap). The chunked rows are therefore measured twice: with glibc's defaults and with a fixed
threshold (``MALLOC_MMAP_THRESHOLD_=1048576``), which shows what the code itself holds.

    python benchmarks/extract_memory.py            # T = 125 .. 2,000 frames at 128x64
    python benchmarks/extract_memory.py --quick    # T = 125 .. 500
"""

from __future__ import annotations

import argparse
import json
import os

import torch
from _common import (
    NO_GPU_LINE,
    build_model,
    cycling_frames,
    describe_device,
    markdown_table,
    parse_ints,
    peak_memory,
    pick_device,
    run_child,
)

POOL = 64  # distinct frames the loader cycles through


def measure(args: argparse.Namespace, frames: int, chunk: int) -> dict:
    from m3dreid.evaluation.extract import extract_tracklet

    device = pick_device(args.device)
    torch.manual_seed(0)
    model = build_model(args.model, num_classes=0, depth=50, base_channels=args.base_channels).to(device).eval()
    load_frames = cycling_frames(POOL, 3, args.height, args.width, device=device)
    extract_tracklet(model, range(4), load_frames_fn=load_frames, chunk_size=4, device=device)  # warm-up
    with peak_memory(device) as result:
        extract_tracklet(model, range(frames), load_frames_fn=load_frames, chunk_size=chunk, device=device)
    return {"peak_mb": result["peak_mb"], "seconds": result["seconds"], "radius": model.temporal_radius}


def child(args: argparse.Namespace, frames: int, chunk: int, *, fixed_threshold: bool) -> dict:
    env = dict(os.environ)
    if fixed_threshold:
        env["MALLOC_MMAP_THRESHOLD_"] = "1048576"
    return run_child(__file__, f"{frames},{chunk}", what=f"{frames} frames / chunk {chunk}", env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default="m3d_resnet50")
    parser.add_argument("--base-channels", type=int, default=16, help="ResNet width (64 = standard)")
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--lengths", default=None, help="tracklet lengths, e.g. 125,250,500")
    parser.add_argument("--one-pass", default="32,64,128", help="lengths also run in one pass")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        frames, chunk = (int(v) for v in args.child.split(","))
        print(json.dumps(measure(args, frames, chunk)))
        return
    lengths = parse_ints(args.lengths or ("125,250,500" if args.quick else "125,250,500,1000,2000"))
    device = pick_device(args.device)
    print(f"device: {describe_device(device)}")
    if device.type != "cuda":
        print(NO_GPU_LINE)
    print(f"model: {args.model}, width {args.base_channels}, {args.height}x{args.width}, chunk {args.chunk_size}\n")
    rows = []
    for frames in lengths:
        glibc = child(args, frames, args.chunk_size, fixed_threshold=False)
        row = ["chunked", f"{frames:,}", f"{glibc['peak_mb']:.0f}"]
        if device.type == "cpu":
            fixed = child(args, frames, args.chunk_size, fixed_threshold=True)
            row.append(f"{fixed['peak_mb']:.0f}")
        rows.append([*row, f"{frames / glibc['seconds']:.1f}"])
    for frames in parse_ints(args.one_pass):
        r = child(args, frames, frames, fixed_threshold=False)
        fixed = child(args, frames, frames, fixed_threshold=True) if device.type == "cpu" else None
        rows.append(["one pass", f"{frames:,}", f"{r['peak_mb']:.0f}"] + ([f"{fixed['peak_mb']:.0f}"] if fixed else [])
                    + [f"{frames / r['seconds']:.1f}"])  # fmt: skip
    headers = ["mode", "frames", "peak MB"] + (["peak MB, fixed mmap threshold"] if device.type == "cpu" else [])
    print(markdown_table([*headers, "frames/s"], rows))
    chunked = [float(r[-2]) for r in rows[: len(lengths)]]
    one_pass = [(int(r[1].replace(",", "")), float(r[-2])) for r in rows[len(lengths) :]]
    slope = (one_pass[-1][1] - one_pass[0][1]) / max(one_pass[-1][0] - one_pass[0][0], 1) if len(one_pass) > 1 else 0
    print(
        f"\nchunked peak over {lengths[0]:,}..{lengths[-1]:,} frames: {min(chunked):.0f}..{max(chunked):.0f} MB; "
        f"one pass grows {slope:.2f} MB a frame (~{slope * lengths[-1]:,.0f} MB at {lengths[-1]:,} frames)"
    )
    print("(frames/s are wall-clock figures of a shared machine; the memory columns are the point here)")


if __name__ == "__main__":
    main()
