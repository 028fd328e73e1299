"""benchmarks/gpu_check.py on a machine without CUDA: says so, runs nothing, exits 0 (its GPU steps are for a GPU)."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_gpu_check_without_cuda_prints_no_cuda_device_and_exits_0(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # hide any GPU: the CPU branch is what is tested
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "check.json")], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == [
        "no CUDA device: gpu_check runs nothing on a CPU (the CPU tests are `make test`)"
    ]
    assert not (tmp_path / "check.json").exists()
