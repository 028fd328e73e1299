"""k-reciprocal re-ranking at MARS sizes: m3dreid's blocked sparse implementation vs a dense numpy formulation.

The dense formulation (written below) is the one most ReID code bases use: the full N x N distance matrix, a full
argsort of it, a dense N x N ``V``, a dense query-expanded copy, and a per-query loop over an inverted index. Both
run on the same clustered features (identities as noisy copies of a centre, as trained embeddings look), each in
its own child process so that peak memory (``ru_maxrss`` minus the resident size just before the call) is its own.
The table gives time and peak memory side by side and their ratios, plus the largest difference of the outputs.

    python benchmarks/rerank.py                # N = 11,310 and 14,160, CPU (+ CUDA rows when there is a GPU)
    python benchmarks/rerank.py --quick        # N = 5,000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

QUERIES = 1980  # MARS: 1,980 queries; 9,330 (torchreid) or 12,180 (official kit) gallery tracklets


def make_features(num: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per_id = 18
    centres = rng.normal(size=(num // per_id + 1, dim))
    ids = rng.integers(0, len(centres), num)
    feats = centres[ids] + 1.1 * rng.normal(size=(num, dim))
    return feats.astype(np.float32)


def dense_rerank(query: np.ndarray, gallery: np.ndarray, k1: int = 20, k2: int = 6, lam: float = 0.3) -> np.ndarray:
    """All matrices N x N, row loops in Python: the common dense formulation."""
    feats = np.concatenate([query, gallery])
    num, num_q = len(feats), len(query)
    sq = (feats**2).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * feats @ feats.T, 0).astype(np.float32)
    dist /= dist.max(axis=1, keepdims=True)
    rank = np.argsort(dist, axis=1).astype(np.int32)
    half = int(np.around(k1 / 2))
    v = np.zeros((num, num), dtype=np.float32)
    for i in range(num):
        fwd = rank[i, : k1 + 1]
        r_i = fwd[np.where(rank[fwd, : k1 + 1] == i)[0]]
        expansion = r_i
        for c in r_i:
            c_fwd = rank[c, : half + 1]
            r_c = c_fwd[np.where(rank[c_fwd, : half + 1] == c)[0]]
            if len(np.intersect1d(r_c, r_i)) > 2 / 3 * len(r_c):
                expansion = np.append(expansion, r_c)
        expansion = np.unique(expansion)
        weight = np.exp(-dist[i, expansion])
        v[i, expansion] = weight / weight.sum()
    if k2 != 1:
        v_qe = np.zeros_like(v)
        for i in range(num):
            v_qe[i] = v[rank[i, :k2]].mean(axis=0)
        v = v_qe
        del v_qe
    del rank
    inverted = [np.where(v[:, j] != 0)[0] for j in range(num)]
    out = np.zeros((num_q, num), dtype=np.float32)
    for i in range(num_q):
        overlap = np.zeros(num, dtype=np.float32)
        nonzero = np.where(v[i] != 0)[0]
        for j in nonzero:
            rows = inverted[j]
            overlap[rows] += np.minimum(v[i, j], v[rows, j])
        out[i] = 1 - overlap / (2 - overlap)
    return ((1 - lam) * out + lam * dist[:num_q])[:, num_q:]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(method: str, num: int, dim: int, device: str, out_path: str) -> None:
    import torch

    from m3dreid.evaluation.rerank import k_reciprocal_rerank

    feats = make_features(num, dim, seed=0)
    query, gallery = feats[:QUERIES], feats[QUERIES:]
    if method == "blocked" and device == "cuda":
        query, gallery = torch.from_numpy(query).cuda(), torch.from_numpy(gallery).cuda()
        k_reciprocal_rerank(query[:100], gallery[:500])  # warm-up: CUDA context and kernels
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    before = _rss_bytes()
    start = time.perf_counter()
    if method == "dense":
        result = dense_rerank(query, gallery)
    else:
        result = k_reciprocal_rerank(query, gallery)
        if device == "cuda":
            torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated()
        result = result.cpu()
    np.save(out_path, np.asarray(result, dtype=np.float32))
    print(json.dumps({"seconds": seconds, "peak_bytes": peak}))


def run_child(method: str, num: int, dim: int, device: str, out_path: str, threads: int) -> dict:
    env = dict(
        os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads)
    )
    cmd = [sys.executable, __file__, "--child", method, "--sizes", str(num), "--dim", str(dim), "--device", device]
    cmd += ["--out", out_path]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="11310,14160", help="comma-separated N = 1,980 queries + gallery")
    parser.add_argument("--quick", action="store_true", help="N = 5,000 only")
    parser.add_argument("--dim", type=int, default=128, help="feature size (the paper's embedding: 128)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for both implementations")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
        child(args.child, int(args.sizes), args.dim, args.device, args.out)
        return

    import torch

    if args.quick:
        args.sizes = "5000"
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"device: {platform.processor() or platform.machine()}, {args.threads} CPU threads; GPU: {gpu}")
    print(f"features: {args.dim}-d, {QUERIES} queries; k1=20, k2=6, lambda=0.3; dense = numpy, N x N matrices\n")
    print(
        "| N | device | dense s | blocked s | time ratio | dense peak MB | blocked peak MB | memory ratio | max diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for num in (int(s) for s in args.sizes.split(",")):
            dense_path = str(Path(tmp) / f"dense_{num}.npy")
            dense = run_child("dense", num, args.dim, "cpu", dense_path, args.threads)
            for device in devices:
                blocked_path = str(Path(tmp) / f"blocked_{num}_{device}.npy")
                blocked = run_child("blocked", num, args.dim, device, blocked_path, args.threads)
                diff = float(np.abs(np.load(dense_path) - np.load(blocked_path)).max())
                mb = 1 << 20
                dense_mb, blocked_mb = dense["peak_bytes"] / mb, blocked["peak_bytes"] / mb
                time_ratio = blocked["seconds"] / dense["seconds"]
                mem_ratio = blocked["peak_bytes"] / dense["peak_bytes"]
                print(
                    f"| {num:,} | {device} | {dense['seconds']:.2f} | {blocked['seconds']:.2f} | {time_ratio:.3f} | "
                    f"{dense_mb:,.0f} | {blocked_mb:,.0f} | {mem_ratio:.3f} | {diff:.1e} |"
                )
    print("\nratios are blocked / dense (goal: time <= 0.2, memory <= 0.25); GPU memory is torch's peak allocation")


if __name__ == "__main__":
    main()
