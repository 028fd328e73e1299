"""Peak memory of whole-sequence evaluation of one long tracklet (2,000 frames at 256x128) with a fixed chunk budget.

    python benchmarks/long_tracklet_memory.py            # full-width ResNet-50 backbone (meant for a GPU)
    python benchmarks/long_tracklet_memory.py --quick    # narrow backbone, about a minute on a 2-core CPU

Evaluation runs ``m3dreid.evaluation.extract.extract_tracklet`` with ``eval.chunk_size`` frames (plus the model's
temporal halo) through the network at a time, loading only each window's frames. Its peak memory must not grow
with the tracklet length; the one-pass form (the whole tracklet through the network at once, here: chunk_size =
length) grows linearly, and its figure at 2,000 frames is extrapolated from the measured slope rather than run.
The chunked feature is also checked against the one-pass feature on a tracklet short enough for both.

Each measurement runs in a fresh process so that peaks do not mix: on CUDA the peak of
``torch.cuda.max_memory_allocated``, on CPU the growth of the peak resident set size (ru_maxrss) over the process's
resident size when it was ready (model built and warmed up, frame source allocated).
"""

from __future__ import annotations

import argparse
import json

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

POOL = 37  # distinct random frames the synthetic tracklet cycles through (memory of the source stays small)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from m3dreid.config import EvalConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="narrow backbone (width 16) for a CPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default="m3d_resnet50")
    parser.add_argument("--frames", type=int, default=2000, help="length of the long tracklet")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--chunk-size", type=int, default=EvalConfig().chunk_size, help="default: eval.chunk_size")
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--base-channels", type=int, default=None, help="ResNet width (default 64; --quick 16)")
    parser.add_argument("--one-pass-frames", default=None, help="lengths run in one pass, e.g. 32,64,128")
    parser.add_argument("--budget-mb", type=float, default=0, help="fail when the chunked peak exceeds this (0 = off)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.base_channels = args.base_channels or (16 if args.quick else 64)
    args.one_pass_frames = parse_ints(args.one_pass_frames or ("32,64,128" if args.quick else "64,128,256"))
    return args


def measure(args: argparse.Namespace, frames: int, chunk: int, *, parity: bool) -> dict:
    """In this (fresh) process: extract one ``frames``-long tracklet in chunks of ``chunk``; peak memory and time."""
    from m3dreid.evaluation.extract import extract_tracklet

    device = pick_device(args.device)
    torch.manual_seed(0)
    model = build_model(args.model, num_classes=0, depth=args.depth, base_channels=args.base_channels)
    model = model.to(device).eval()
    load_frames = cycling_frames(POOL, getattr(model, "in_channels", 3), args.height, args.width, device=device)

    def run(num: int, size: int) -> torch.Tensor:
        return extract_tracklet(
            model, range(num), load_frames_fn=load_frames, chunk_size=size, device=device, amp=device.type == "cuda"
        )

    run(4, 4)  # warm-up: allocator, kernels
    with peak_memory(device) as measured:
        feature = run(frames, chunk)
    result = {"frames": frames, "chunk": chunk, "radius": int(getattr(model, "temporal_radius", 0)), **measured}
    if parity:
        result["max_abs_diff"] = float((run(frames, args.chunk_size) - feature).abs().max())
    return result


def _child(args: argparse.Namespace, frames: int, chunk: int, *, parity: bool = False) -> dict:
    what = f"measurement {frames} frames / chunk {chunk}"
    return run_child(__file__, f"{frames},{chunk},{parity:d}", what=what)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        frames, chunk, parity = (int(v) for v in args.child.split(","))
        print(json.dumps(measure(args, frames, chunk, parity=bool(parity))))
        return 0
    device = pick_device(args.device)
    print(f"## Long-tracklet memory ({'quick' if args.quick else 'full'}): {args.model}, depth {args.depth}, "
          f"width {args.base_channels}, {args.height}x{args.width}, eval.chunk_size {args.chunk_size}")  # fmt: skip
    print(f"device: {describe_device(device)}")
    if device.type != "cuda":
        print(NO_GPU_LINE)
    rows, one_pass = [], []
    for frames in sorted({max(args.frames // 4, 1), args.frames}):
        r = _child(args, frames, args.chunk_size)
        rows.append(["chunked", frames, args.chunk_size, r])
    for frames in args.one_pass_frames:
        r = _child(args, frames, frames, parity=frames == max(args.one_pass_frames))
        rows.append(["one pass", frames, frames, r])
        one_pass.append(r)
    table = []
    for mode, frames, chunk, r in rows:
        peak = f"{r['peak_mb']:,.0f}" + ("" if r["exact"] else " (<=)")
        fps = f"{frames / r['seconds']:,.1f}"
        window = min(frames, chunk + 2 * r["radius"])  # centre frames + halo through the network at once
        table.append([mode, frames, window, peak, f"{r['peak_mb'] / frames:.2f}", f"{r['seconds']:.1f}", fps])
    if len(one_pass) >= 2:  # linear fit of the one-pass peak against the length, extrapolated to the long tracklet
        first, last = one_pass[0], one_pass[-1]
        slope = (last["peak_mb"] - first["peak_mb"]) / (last["frames"] - first["frames"])
        estimate = last["peak_mb"] + slope * (args.frames - last["frames"])
        table.append(
            ["one pass (extrapolated)", args.frames, args.frames, f"~{estimate:,.0f}", f"{slope:.2f}", "-", "-"]
        )
    print()
    print(markdown_table(["mode", "frames", "frames a pass", "peak MB", "MB / frame", "s", "frames/s"], table))
    parity = next(r for r in one_pass if "max_abs_diff" in r)
    print(f"\nchunked vs one-pass feature at {parity['frames']} frames: max |diff| = {parity['max_abs_diff']:.2e}")
    chunked_peak = max(r["peak_mb"] for mode, *_, r in rows if mode == "chunked")
    if args.budget_mb and chunked_peak > args.budget_mb:
        print(f"FAIL: chunked peak {chunked_peak:.0f} MB exceeds the budget of {args.budget_mb:.0f} MB")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
