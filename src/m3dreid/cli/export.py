"""``m3dreid export CKPT --onnx model.onnx``: ONNX export with dynamic batch and frames, checked with onnxruntime."""

from __future__ import annotations

import argparse
import sys

HELP = "export a trained checkpoint to ONNX (dynamic batch and number of frames) and check it against PyTorch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="checkpoint written by `m3dreid train` (holds 'model' and 'config')")
    parser.add_argument("--onnx", required=True, help="output .onnx file")
    parser.add_argument("--height", type=int, default=0, help="frame height (default: the checkpoint's data.height)")
    parser.add_argument("--width", type=int, default=0, help="frame width (default: the checkpoint's data.width)")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset")
    parser.add_argument("--dynamo", action="store_true", help="use the torch.export-based exporter (slower)")
    parser.add_argument(
        "--check-frames", default="8,16,23", help="clip lengths T for the onnxruntime parity check ('' = skip)"
    )
    parser.add_argument("--atol", type=float, default=1e-4, help="largest allowed |onnx - torch| in the check")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing .onnx file")


def run(args: argparse.Namespace) -> int:
    from m3dreid.deploy import check_onnx_parity, export_onnx, load_checkpoint_model
    from m3dreid.errors import prepare_output

    prepare_output(args.onnx, overwrite=args.overwrite, inputs=[args.checkpoint])
    model, config = load_checkpoint_model(args.checkpoint)
    height = args.height or config.data.height
    width = args.width or config.data.width
    path = export_onnx(model, args.onnx, height=height, width=width, opset=args.opset, dynamo=args.dynamo)
    print(f"{config.model.name} -> {path} (input clip: batch x frames x {model.in_channels} x {height} x {width})")
    frames = [int(t) for t in args.check_frames.split(",") if t.strip()]
    if not frames:
        return 0
    parity = check_onnx_parity(model, path, height=height, width=width, frames=frames, atol=args.atol)
    for t, diff in parity.max_abs_diff.items():
        print(f"  T={t:<4d} max |onnx - torch| = {diff:.3g}")
    if not parity.ok:
        print(f"m3dreid export: ONNX output differs from PyTorch by more than {args.atol:g}", file=sys.stderr)
        return 1
    return 0
