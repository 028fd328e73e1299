"""One command for a GPU machine's first run: the CUDA tests, the speed table, a real training run, an NCCL DDP run.

    python benchmarks/gpu_check.py                 # or: make gpu-check; about 8-10 minutes on one H100
    python benchmarks/gpu_check.py --no-compile    # without the torch.compile rows (the slowest part to set up)

Steps, each in its own process (a failure is recorded and the next step still runs; the exit status is 1 if any
failed):

1. ``tests``: the CUDA test subset (``pytest -m cuda``): the trainer with bf16 autocast + channels_last on the GPU
   against fp32 on the CPU, the extractor in bf16, compiled, and channels_last against fp32 eager.
2. ``speed``: ``benchmarks/model_speed.py`` on the GPU at 256x128, T=16: 2D, M3D and I3D ResNet-50; fp32, bf16 +
   channels_last, and + torch.compile (2D and M3D); inference at B = 16 and 64 clips, training at B = 4 and 16
   clips (64 and 256 frames a step; the paper's batch is 10 clips), compiled rows at inference B = 64 and training
   B = 16 only (each compile is a minute or so); M3D / 2D and I3D / 2D ratios per round.
3. ``train200``: 200 steps of ``m3d_resnet50`` through the real Trainer with the paper's recipe
   (``configs/paper_m3d.yaml``: SGD lr 0.01 momentum 0.9, wd 5e-4, softmax, 5 ids x 2 clips of 16 frames, amp +
   channels_last as configured) on synthetic clips (random 256x128 frames, 625 identities as in MARS' train split),
   from host memory through a pinned copy: frames/s, loss finite, peak GPU memory.
4. ``ddp``: a 1-process NCCL process group, the model in DistributedDataParallel with SyncBatchNorm, 5 Trainer
   steps and an all-reduce: the code path of ``torchrun --nproc_per_node N m3dreid train``.

Writes one JSON (``--out``, default ``runs/gpu_check.json``) and prints the tables. Without a CUDA device it prints
"no CUDA device" and exits 0 without running anything (the CPU tests are ``make test``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (puts src/ on the path)
import torch
from _common import describe_device, markdown_table

REPO = Path(__file__).resolve().parents[1]
NO_CUDA_LINE = "no CUDA device: gpu_check runs nothing on a CPU (the CPU tests are `make test`)"
SPEED_MODELS = "resnet50_2d,m3d_resnet50,i3d_resnet50"
TRAIN_STEPS = 200


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/gpu_check.json", help="the JSON written at the end")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile speed rows")
    parser.add_argument("--steps", type=int, default=TRAIN_STEPS, help="training steps of the train200 step")
    parser.add_argument("--only", default="", help="comma list of steps to run (tests,speed,train200,ddp)")
    parser.add_argument("--quick", action="store_true", help="accepted for run_all.py; the check has one size")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)  # internal: run one step in this process
    return parser.parse_args(argv)


# ---- steps run in child processes ----------------------------------------------------------------------------------
def _paper_config(overrides: list[str]):
    from m3dreid.config import load_config

    return load_config(REPO / "configs" / "paper_m3d.yaml", overrides)


def _synthetic_loader(config, num_ids: int, device: torch.device):
    """``epoch -> batches`` of random (B, T, 3, H, W) clips in pinned host memory, P x K identities a batch."""
    data = config.data
    batch = data.ids_per_batch * data.tracklets_per_id
    gen = torch.Generator().manual_seed(0)
    pool = [
        torch.randn(batch, data.seq_len, 3, data.height, data.width, generator=gen).pin_memory() for _ in range(4)
    ]  # 4 distinct batches, cycled: host memory stays small while every step still copies a batch to the GPU
    pids = [torch.randint(0, num_ids, (data.ids_per_batch,), generator=gen) for _ in range(4)]

    def epoch_loader(epoch: int):
        steps = config.train.iters_per_epoch
        return [
            (pool[i % 4], pids[i % 4].repeat_interleave(data.tracklets_per_id), torch.zeros(batch, dtype=torch.long))
            for i in range(steps)
        ]

    return epoch_loader


def child_train(args: argparse.Namespace) -> dict:
    import csv
    import tempfile

    from m3dreid.engine import Trainer
    from m3dreid.models.build import build_model

    device = torch.device("cuda")
    config = _paper_config([f"train.iters_per_epoch={args.steps}", "train.epochs=1", "train.log_every=20"])
    torch.manual_seed(0)
    model = build_model(config, num_classes=625)
    torch.cuda.reset_peak_memory_stats(device)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(
            model=model, config=config, run_dir=run_dir, epoch_loader=_synthetic_loader(config, 625, device)
        )
        start = time.perf_counter()
        result = trainer.fit()
        torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        rows = list(csv.DictReader((Path(run_dir) / "train_log.csv").open()))
    tc = config.train
    frames = args.steps * config.data.ids_per_batch * config.data.tracklets_per_id * config.data.seq_len
    losses = [float(r["loss"]) for r in rows]
    return {
        "model": config.model.name,
        "steps": result.global_step,
        "frames_per_s_overall": frames / seconds,  # includes the first steps (cudnn autotuning, allocator warm-up)
        "frames_per_s_last_window": float(rows[-1]["frames_per_s"]),
        "losses": losses,
        "loss_finite": all(math.isfinite(v) for v in losses),
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30,
        "amp": trainer.fast.amp,
        "channels_last": trainer.fast.channels_last,
        "compile": trainer.fast.compile,
        "recipe": {"lr": tc.lr, "momentum": tc.momentum, "weight_decay": tc.weight_decay, "loss": tc.loss},
        "ok": result.global_step == args.steps and all(math.isfinite(v) for v in losses),
    }


def child_ddp(args: argparse.Namespace) -> dict:
    import tempfile

    import torch.distributed as dist

    from m3dreid.engine import Trainer
    from m3dreid.engine import distributed as D
    from m3dreid.models.build import build_model

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    device = torch.device("cuda", 0)
    torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl", init_method="env://", rank=0, world_size=1, device_id=device)
    try:
        config = _paper_config(
            ["train.iters_per_epoch=5", "train.epochs=1", "train.log_every=1", "model.name=m3d_resnet18",
             "data.height=128", "data.width=64", "data.seq_len=8", "train.sync_bn=true"]
        )  # fmt: skip
        torch.manual_seed(0)
        model = build_model(config, num_classes=16)
        with tempfile.TemporaryDirectory() as run_dir:
            trainer = Trainer(
                model=model,
                config=config,
                run_dir=run_dir,
                epoch_loader=_synthetic_loader(config, 16, device),
                device=device,
                wrap_model=lambda m: D.wrap_model(m, device=device, sync_bn=True),
            )
            result = trainer.fit()
        value = torch.tensor([3.0], device=device)
        dist.all_reduce(value)
        return {
            "backend": dist.get_backend(),
            "world_size": dist.get_world_size(),
            "wrapped": type(trainer.model).__name__,
            "sync_bn": any(isinstance(m, torch.nn.SyncBatchNorm) for m in trainer.model.modules()),
            "steps": result.global_step,
            "loss": result.last_loss,
            "all_reduce": float(value.item()),
            "ok": result.global_step == 5 and math.isfinite(result.last_loss) and float(value.item()) == 3.0,
        }
    finally:
        dist.destroy_process_group()


# ---- the driver ----------------------------------------------------------------------------------------------------
def _run(command: list[str], timeout: float) -> tuple[int, str, float]:
    start = time.perf_counter()
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        code, text = out.returncode, out.stdout + out.stderr
    except subprocess.TimeoutExpired as err:
        code, text = 124, f"timed out after {timeout:.0f} s\n{(err.stdout or b'')[-3000:]!r}"
    return code, text, time.perf_counter() - start


def step_tests() -> dict:
    code, text, seconds = _run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "tests"], timeout=240)
    tail = text.strip().splitlines()[-1] if text.strip() else ""
    return {"ok": code == 0, "exit": code, "summary": tail, "seconds": seconds, "output_tail": text[-4000:]}


def step_speed(args: argparse.Namespace, json_path: Path) -> dict:
    command = [
        sys.executable, str(REPO / "benchmarks" / "model_speed.py"), "--device", "cuda",
        "--models", SPEED_MODELS, "--train-models", SPEED_MODELS, "--compile-models", "resnet50_2d,m3d_resnet50",
        "--compile-batches", "64",
        "--batches", "16,64", "--seq-lens", "16", "--train-batches", "4,16", "--train-seq-len", "16",
        "--warmup", "3", "--rounds", "8", "--json", str(json_path),
    ]  # fmt: skip
    if args.no_compile:
        command.append("--no-compile")
    code, text, seconds = _run(command, timeout=420)
    record = {"ok": code == 0, "exit": code, "seconds": seconds, "tables": text[-12000:]}
    if code == 0 and json_path.is_file():
        record["rows"] = json.loads(json_path.read_text())
    return record


def step_child(name: str, args: argparse.Namespace, timeout: float) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--steps", str(args.steps)]
    code, text, seconds = _run(command, timeout=timeout)
    lines = text.strip().splitlines()
    try:
        record = json.loads(lines[-1]) if code == 0 else {"ok": False}
    except (IndexError, json.JSONDecodeError):
        record = {"ok": False}
    record.update(exit=code, seconds=seconds)
    if not record["ok"]:
        record["output_tail"] = text[-4000:]
    return record


def _summary_rows(results: dict) -> list[list[str]]:
    rows = []
    for name, r in results.items():
        if name == "tests":
            what = r.get("summary", "")
        elif name == "speed":
            what = "tables below" if r["ok"] else "failed"
        elif name == "train200" and r.get("ok"):
            what = (
                f"{r['steps']} steps, {r['frames_per_s_last_window']:,.0f} frames/s (last 20 steps), loss "
                f"{r['losses'][0]:.3f} -> {r['losses'][-1]:.3f}, peak {r['peak_memory_gib']:.1f} GiB, "
                f"amp={r['amp']} channels_last={r['channels_last']}"
            )
        elif name == "ddp" and r.get("ok"):
            what = f"{r['backend']} world {r['world_size']}, {r['wrapped']}, SyncBN {r['sync_bn']}, {r['steps']} steps"
        else:
            what = "see output_tail in the JSON"
        rows.append([name, "ok" if r.get("ok") else "FAILED", f"{r.get('seconds', 0):.0f}", what])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        if not torch.cuda.is_available():
            raise SystemExit(NO_CUDA_LINE)
        record = {"train200": child_train, "ddp": child_ddp}[args.child](args)
        print(json.dumps(record))
        return 0
    if not torch.cuda.is_available():
        print(NO_CUDA_LINE)
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only.split(",")) if args.only else {"tests", "speed", "train200", "ddp"}
    start = time.perf_counter()
    results: dict = {}
    if "tests" in wanted:
        results["tests"] = step_tests()
    if "speed" in wanted:
        results["speed"] = step_speed(args, out.with_name(out.stem + "_speed.json"))
    if "train200" in wanted:
        results["train200"] = step_child("train200", args, timeout=240)
    if "ddp" in wanted:
        results["ddp"] = step_child("ddp", args, timeout=120)
    record = {
        "device": describe_device(torch.device("cuda")),
        "torch": torch.__version__,
        "seconds": time.perf_counter() - start,
        "results": results,
    }
    out.write_text(json.dumps(record, indent=2))
    print(f"## GPU check on {record['device']} ({record['seconds']:.0f} s)\n")
    print(markdown_table(["step", "status", "seconds", "result"], _summary_rows(results)))
    if "speed" in results:
        print(results["speed"].get("tables", ""))
    print(f"\nwrote {out}")
    return 0 if all(r.get("ok") for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
