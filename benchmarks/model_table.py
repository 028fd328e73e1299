"""Size, cost and CPU speed of every registered video model (the paper's Table IV columns, measured here).

    python benchmarks/model_table.py                 # ResNet-50 models at 256x128, T=16 (the paper's setting)
    python benchmarks/model_table.py --quick         # narrow ResNet-18 layout at 64x32, T=8: about a minute
    python benchmarks/model_table.py --csv out.csv   # also write the table as CSV (default runs/bench/model_table.csv)

Columns: parameters with a ``--num-classes`` classifier (625 = MARS training identities, what a trained checkpoint
holds), the same in MB (fp32, 10^6 bytes, the unit under which I3D is 186 MB as in the paper), parameters without the
classifier (what retrieval needs), GFLOPs and GMACs per frame at the given size and T (counted by
``torch.utils.flop_counter`` on the meta device: convolutions, matmuls and the LSTM; element-wise ops are not
counted), the temporal radius, and CPU inference frames/s. The frames/s of all models come from one run, timed
round-robin on the same clip (``_common.time_interleaved``, fastest round), with a ratio to the 2D model of the same
depth. On a CPU shared with other work the frames/s are noisy; the duplicate rows (``resnet18_2d`` and, with
``--quick``, ``resnet50_2d``, which is then the same network) show how noisy.
"""

from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path

import torch
from _common import build_model, describe_device, markdown_table, pick_device, random_clip, time_interleaved
from torch.utils.flop_counter import FlopCounterMode

PAPER_LINE = "paper Table IV (MARS, ResNet-50): I3D 186 MB; M3D ~40% (about 76 MB) smaller; 2D ResNet-50 95.7 MB"


def count_flops(name: str, *, depth: int, base_channels: int, frames: int, height: int, width: int) -> float:
    """FLOPs per frame of one eval forward pass, on the meta device (no memory, no compute)."""
    with torch.device("meta"):
        model = build_model(name, num_classes=0, depth=depth, base_channels=base_channels).eval()
        clip = torch.empty(1, frames, model.in_channels, height, width)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(clip)
    return counter.get_total_flops() / frames


def _fmt(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ResNet-18 layout, 16 wide, 64x32 frames, T=8")
    parser.add_argument("--models", default="", help="comma-separated names (default: every registered model)")
    parser.add_argument("--num-classes", type=int, default=625, help="classifier size counted in the parameters")
    parser.add_argument("--frames", type=int, default=None, help="T of the clip (default 16, quick 8)")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 2, quick 5)")
    parser.add_argument("--no-speed", action="store_true", help="skip the frames/s column")
    parser.add_argument("--device", default="cpu", help="cpu (the table's setting) | cuda | auto")
    parser.add_argument("--csv", default="runs/bench/model_table.csv", help="where to write the CSV")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from m3dreid import list_models
    from m3dreid.models import parameter_count

    depth, base = (18, 16) if args.quick else (50, 64)
    height, width = (64, 32) if args.quick else (256, 128)
    frames = args.frames or (8 if args.quick else 16)
    rounds = args.rounds or (5 if args.quick else 2)
    names = [n for n in args.models.split(",") if n] or list_models()
    device = pick_device(args.device)
    print(f"device: {describe_device(device)}")
    print(f"setting: depth {depth}, base_channels {base}, frames {height}x{width}, T={frames}, batch 1, fp32, eval")
    print(PAPER_LINE)

    rows, models = [], {}
    for name in names:
        torch.manual_seed(0)
        model = build_model(name, num_classes=args.num_classes, depth=depth, base_channels=base).eval()
        params = parameter_count(model)
        flops = count_flops(name, depth=depth, base_channels=base, frames=frames, height=height, width=width)
        rows.append(
            {
                "model": name,
                "params": params,
                "mb_fp32": params * 4 / 1e6,
                "params_no_classifier": parameter_count(model, with_classifier=False),
                "gflops_per_frame": flops / 1e9,
                "gmacs_per_frame": flops / 2e9,
                "temporal_radius": model.temporal_radius,
            }
        )
        models[name] = model.to(device)

    if not args.no_speed:
        fns = {}
        for name, model in models.items():
            clip = random_clip(1, frames, model.in_channels, height, width, device=device, channels_last=False)
            fns[name] = lambda model=model, clip=clip: model(clip)
        with torch.no_grad():
            seconds = time_interleaved(fns, device=device, warmup=1, rounds=rounds)
        for row in rows:
            row["frames_per_s"] = frames / seconds[row["model"]]
            reference = "resnet18_2d" if depth == 18 or "resnet18" in row["model"] else "resnet50_2d"
            if reference in seconds:
                row["ratio_vs_2d"] = seconds[reference] / seconds[row["model"]]

    headers = list(rows[0])
    cells = [[_fmt(row.get(h, "")) for h in headers] for row in rows]
    print(markdown_table(headers, cells))
    if not args.no_speed:
        print(
            "ratio_vs_2d: frames/s over those of the 2D model of the same depth (resnet18_2d / resnet50_2d), same run"
        )
    out = Path(args.csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
