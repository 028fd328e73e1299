"""Inference and training frames/s of the video models against the 2D ResNet-50 baseline, measured side by side.

    python benchmarks/model_speed.py            # full sweep (meant for a GPU)
    python benchmarks/model_speed.py --quick    # a few minutes on a laptop CPU; still prints the ratio tables

The paper reports 766 (M3D) vs 781 (2D) frames/s on a TITAN X, a ratio of 0.98; m3dreid's goal is a ratio of at
least 0.97 in inference and 0.90 in training. Every ratio below comes from one run in which the models were timed
round-robin on the same inputs (see _common.time_rounds), so it does not depend on machine drift between runs.
Each frames/s is the median over the timed rounds, and each ratio the median of the per-round ratios (round i of
one model against round i of the baseline), with their lowest and highest per-round ratio as the spread: on a
shared CPU a neighbour's job slows some rounds, and pairing the models round by round cancels most of it.

    python benchmarks/model_speed.py --ratio   # M3D / 2D at ResNet-50 width on a CPU: one thread, CPU-time clock

Variants: fp32 everywhere; on CUDA also bf16 autocast + channels_last, and the same under torch.compile. On a machine
without CUDA the GPU variants are not run (the script says so) and no GPU figure is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from dataclasses import dataclass

import torch
from _common import (
    NO_GPU_LINE,
    build_model,
    describe_device,
    markdown_table,
    parse_ints,
    pick_device,
    random_clip,
    time_rounds,
    to_channels_last,
)

DEFAULT_MODELS = "resnet50_2d,m3d_resnet50,two_stream_m3d_resnet50"
# The paper trains the two streams separately (the two-stream model is assembled for evaluation), so its training
# cost is the sum of its streams' and it is not in the training table.
DEFAULT_TRAIN_MODELS = "resnet50_2d,m3d_resnet50"
PAPER_LINE = (
    "paper (TITAN X, 256x128): 2D 781 frames/s, M3D 766 frames/s, ratio 0.98; goal: >= 0.97 inference, >= 0.90 training"
)


@dataclass(frozen=True)
class Variant:
    name: str
    amp: bool  # bf16 autocast
    channels_last: bool
    compile: bool


CPU_VARIANTS = (Variant("fp32", False, False, False),)
GPU_VARIANTS = (
    Variant("fp32", False, False, False),
    Variant("bf16+channels_last", True, True, False),
    Variant("bf16+channels_last+compile", True, True, True),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sweep for a CPU (a few minutes)")
    parser.add_argument(
        "--ratio", action="store_true", help="only 2D vs M3D ResNet-50, B=2 T=8 (inference and training), 7 rounds"
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma list; the first is the ratio baseline")
    parser.add_argument("--train-models", default=DEFAULT_TRAIN_MODELS, help="comma list for the training table")
    parser.add_argument("--mode", choices=("inference", "train", "all"), default="all")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batches", default=None, help="inference clip batch sizes, e.g. 1,8,32")
    parser.add_argument("--seq-lens", default=None, help="frames per clip, e.g. 8,16")
    parser.add_argument("--train-batch", type=int, default=None, help="clips per training step")
    parser.add_argument("--train-batches", default=None, help="several training batch sizes, e.g. 4,16")
    parser.add_argument("--train-seq-len", type=int, default=None, help="frames per training clip")
    parser.add_argument("--depth", type=int, default=50, help="ResNet depth of every model")
    parser.add_argument("--base-channels", type=int, default=64, help="ResNet width (64 = standard)")
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None, help="timed calls per model (medians are reported)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant on CUDA")
    parser.add_argument("--compile-models", default="", help="comma list: only these get the compile variant")
    parser.add_argument(
        "--compile-batches",
        default="",
        help="comma list: inference batch sizes of the compile variant (training: the largest batch only)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default=None,
        help="wall time, or this process's CPU time (CPU runs on a shared machine; default: cpu with --ratio)",
    )
    parser.add_argument("--json", default="", help="also write the measured rows to this JSON file")
    args = parser.parse_args(argv)
    if args.ratio:
        args.models = args.train_models = "resnet50_2d,m3d_resnet50"
        args.batches, args.seq_lens = args.batches or "2", args.seq_lens or "8"
        args.train_batch, args.train_seq_len = args.train_batch or 2, args.train_seq_len or 8
        args.rounds = args.rounds or 7
        args.no_compile = True
        args.threads = args.threads or 1
        args.clock = args.clock or "cpu"
    args.clock = args.clock or "wall"
    quick = args.quick or args.ratio
    args.batches = parse_ints(args.batches or ("1,2" if quick else "1,8,32"))
    args.seq_lens = parse_ints(args.seq_lens or ("4,8" if quick else "8,16"))
    args.train_batch = args.train_batch or (2 if quick else 8)
    args.train_seq_len = args.train_seq_len or (4 if quick else 16)
    args.train_batches = parse_ints(args.train_batches) if args.train_batches else [args.train_batch]
    args.compile_batches = parse_ints(args.compile_batches) if args.compile_batches else []
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.rounds = args.rounds if args.rounds is not None else (4 if quick else 10)
    return args


def _prepare(model: torch.nn.Module, variant: Variant, device: torch.device) -> torch.nn.Module:
    model = model.to(device)
    if variant.channels_last:
        to_channels_last(model)
    if variant.compile:
        model = torch.compile(model)
    return model


def _models(names: list[str], args: argparse.Namespace, variant: Variant, device: torch.device, *, train: bool) -> dict:
    torch.manual_seed(0)
    models = {}
    if variant.compile and args.compile_models:  # compiling is minutes a model on a GPU box: only the ones asked for
        names = [n for n in names if n in args.compile_models.split(",")]
    for name in names:
        model = build_model(name, num_classes=625, depth=args.depth, base_channels=args.base_channels)
        models[name] = _prepare(model.train(train), variant, device)
    return models


def _clock(args: argparse.Namespace, device: torch.device):
    if args.clock == "cpu":
        if device.type != "cpu":
            raise SystemExit("--clock cpu times CPU runs only")
        return time.process_time
    return time.perf_counter


def _fps_stats(seconds: dict[str, list[float]], frames_per_call: int) -> dict:
    """Median frames/s of each model, and per-round ratios to the first model: median, lowest, highest."""
    names = list(seconds)
    base = seconds[names[0]]
    fps = {n: frames_per_call / statistics.median(v) for n, v in seconds.items()}
    ratios = {}
    for name in names[1:]:
        per_round = [b / s for b, s in zip(base, seconds[name], strict=True)]  # time ratio = frames/s ratio
        ratios[name] = {"median": statistics.median(per_round), "min": min(per_round), "max": max(per_round)}
    return {"fps": fps, "ratio": ratios, "rounds": len(base)}


def _ratio_cells(row: dict, names: list[str]) -> list[str]:
    """Frames/s and ratio cells; '-' for a model the row did not time (e.g. not compiled)."""
    cells = [f"{row['fps'][n]:,.1f}" if n in row["fps"] else "-" for n in names]
    for n in names[1:]:
        r = row["ratio"].get(n)
        cells.append(f"{r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f})" if r else "-")
    return cells


def bench_inference(args: argparse.Namespace, variant: Variant, device: torch.device) -> list[dict]:
    models = _models(args.model_names, args, variant, device, train=False)
    results = []
    for batch in args.batches:
        if variant.compile and args.compile_batches and batch not in args.compile_batches:
            continue
        for frames in args.seq_lens:
            fns = {}
            for name, model in models.items():
                channels = getattr(model, "in_channels", 3)
                clip = random_clip(
                    batch, frames, channels, args.height, args.width, device=device, channels_last=variant.channels_last
                )

                def call(model=model, clip=clip):
                    with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=variant.amp):
                        return model(clip)

                fns[name] = call
            seconds = time_rounds(
                fns, device=device, warmup=args.warmup, rounds=args.rounds, clock=_clock(args, device)
            )
            stats = _fps_stats(seconds, batch * frames)
            results.append({"variant": variant.name, "batch": batch, "frames": frames, **stats})
            logging.info("inference %s B=%d T=%d: %s", variant.name, batch, frames, stats)
    return results


def bench_train(args: argparse.Namespace, variant: Variant, device: torch.device) -> list[dict]:
    from m3dreid.engine.losses import build_loss

    loss_fn = build_loss(kind="softmax")
    models = _models(args.train_model_names, args, variant, device, train=True)
    batches = args.train_batches
    if variant.compile and args.compile_batches:  # --compile-batches: compiled training at the largest batch only
        batches = [max(batches)]
    return [_bench_train_batch(args, variant, device, models, loss_fn, batch) for batch in batches]


def _bench_train_batch(args, variant: Variant, device: torch.device, models: dict, loss_fn, batch: int) -> dict:
    frames = args.train_seq_len
    fns = {}
    for name, model in models.items():
        channels = getattr(model, "in_channels", 3)
        clip = random_clip(
            batch, frames, channels, args.height, args.width, device=device, channels_last=variant.channels_last
        )
        pids = torch.arange(batch, device=device) % 625  # (B,)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

        def step(model=model, clip=clip, pids=pids, optimizer=optimizer):
            with torch.autocast(device.type, torch.bfloat16, enabled=variant.amp):
                features, logits = model(clip)
            loss, _ = loss_fn(features, logits, pids)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        fns[name] = step
    seconds = time_rounds(fns, device=device, warmup=args.warmup, rounds=args.rounds, clock=_clock(args, device))
    stats = _fps_stats(seconds, batch * frames)
    logging.info("train %s B=%d T=%d: %s", variant.name, batch, frames, stats)
    return {"variant": variant.name, "batch": batch, "frames": frames, **stats}


def print_table(title: str, rows: list[dict], names: list[str]) -> None:
    headers = ["variant", "B", "T", *[f"{n} frames/s" for n in names]]
    headers += [f"{n} / {names[0]} (lowest-highest round)" for n in names[1:]]
    table = [[r["variant"], r["batch"], r["frames"], *_ratio_cells(r, names)] for r in rows]
    print(f"\n### {title}\n")
    print(markdown_table(headers, table))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname).1s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    args.model_names = [n.strip() for n in args.models.split(",") if n.strip()]
    args.train_model_names = [n.strip() for n in args.train_models.split(",") if n.strip()]
    variants = GPU_VARIANTS if device.type == "cuda" else CPU_VARIANTS
    if args.no_compile:
        variants = tuple(v for v in variants if not v.compile)
    print(
        f"## Model speed ({'quick' if args.quick else 'full'}): {args.height}x{args.width}, depth {args.depth}, "
        f"width {args.base_channels}, clock: {args.clock}"
    )
    print(f"device: {describe_device(device)}")
    print(PAPER_LINE)
    if device.type != "cuda":
        print(NO_GPU_LINE)
    record: dict = {"device": describe_device(device), "args": {k: v for k, v in vars(args).items()}}
    if args.mode in ("inference", "all"):
        rows = [r for v in variants for r in bench_inference(args, v, device)]
        print_table("Inference frames/s (eval mode, no grad)", rows, args.model_names)
        record["inference"] = rows
    if args.mode in ("train", "all"):
        rows = [r for v in variants for r in bench_train(args, v, device)]
        title = "Training frames/s (forward + backward + SGD step, softmax loss)"
        print_table(title, rows, args.train_model_names)
        record["train"] = rows
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(record, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
