"""Distance + CMC + mAP at MARS size: m3dreid's blocked, vectorised evaluation vs a straightforward per-query loop.

Problem: 1,980 queries x 12,180 gallery tracklets (the MARS official protocol), 6 cameras, 625 identities, 3 % of the
gallery with the junk pid -1; features 128-d (the paper's embedding) and 4,096-d (two 2,048-d streams concatenated).
The reference (written below) is the common numpy formulation: one full distance matrix by ``q^2 + g^2 - 2 q g^T``,
then a Python loop over queries that sorts the row, drops junk, and computes CMC and AP. m3dreid runs
``pairwise_distance`` + ``evaluate_rankings`` (torch, blocks of queries, stable sort, cumulative sums). Both are timed
interleaved (fastest of the rounds) and their mAP and CMC are compared.

    python benchmarks/eval_metrics.py            # 128-d and 4,096-d, CPU (+ CUDA rows when there is a GPU)
    python benchmarks/eval_metrics.py --quick    # a quarter of the queries
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import NO_GPU_LINE, describe_device, markdown_table, time_interleaved

from m3dreid.evaluation.distance import pairwise_distance
from m3dreid.evaluation.rank import evaluate_rankings


def make_problem(num_q: int, num_g: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    num_ids = 625
    centres = rng.normal(size=(num_ids, dim)).astype(np.float32)
    q_pids = rng.integers(0, num_ids, num_q)
    g_pids = rng.integers(0, num_ids, num_g)
    q_feats = centres[q_pids] + 1.5 * rng.normal(size=(num_q, dim)).astype(np.float32)
    g_feats = centres[g_pids] + 1.5 * rng.normal(size=(num_g, dim)).astype(np.float32)
    g_pids[rng.random(num_g) < 0.03] = -1  # junk detections
    q_cams, g_cams = rng.integers(0, 6, num_q), rng.integers(0, 6, num_g)
    return q_feats, g_feats, q_pids, g_pids, q_cams, g_cams


def numpy_distance(q_feats, g_feats):
    return (q_feats**2).sum(1)[:, None] + (g_feats**2).sum(1)[None, :] - 2 * q_feats @ g_feats.T


def numpy_per_query(q_feats, g_feats, q_pids, g_pids, q_cams, g_cams, max_rank=20, dist=None):
    """Straightforward: the whole distance matrix, then one query at a time (standard AP, junk pid -1)."""
    dist = numpy_distance(q_feats, g_feats) if dist is None else dist
    cmcs, aps = [], []
    for i in range(len(q_pids)):
        order = np.argsort(dist[i], kind="stable")
        keep = ~(((g_pids[order] == q_pids[i]) & (g_cams[order] == q_cams[i])) | (g_pids[order] == -1))
        matches = (g_pids[order] == q_pids[i])[keep]
        if not matches.any():
            continue
        cmc = matches.cumsum()
        cmc[cmc > 1] = 1
        cmcs.append(cmc[:max_rank])
        hits = matches.cumsum()
        aps.append(((hits / (np.arange(len(matches)) + 1)) * matches).sum() / matches.sum())
    return np.mean(cmcs, axis=0), float(np.mean(aps))


def m3dreid_eval(q_feats, g_feats, q_pids, g_pids, q_cams, g_cams, device, dist=None):
    dist = pairwise_distance(q_feats, g_feats, device=device) if dist is None else dist
    result = evaluate_rankings(dist, q_pids, g_pids, q_cams, g_cams, junk_pids=(-1,), device=device)
    return result.cmc, result.mAP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="495 queries instead of 1,980")
    parser.add_argument("--dims", default="128,4096")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    num_q, num_g = (495 if args.quick else 1980), 12180
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for dev in devices:
        print(f"device: {describe_device(dev)}")
    print(f"problem: {num_q:,} queries x {num_g:,} gallery, single query, standard AP, junk pid -1\n")
    rows = []
    for dim in (int(d) for d in args.dims.split(",")):
        problem = make_problem(num_q, num_g, dim)
        ref_cmc, ref_map = numpy_per_query(*problem)
        for dev in devices:
            inputs = problem if dev.type == "cpu" else (torch.from_numpy(problem[0]).to(dev),
                                                        torch.from_numpy(problem[1]).to(dev), *problem[2:])  # fmt: skip
            cmc, m_ap = m3dreid_eval(*inputs, device=dev)
            np_dist = numpy_distance(*problem[:2])
            m3_dist = pairwise_distance(*inputs[:2], device=dev)
            fns = {
                "numpy": lambda p=problem: numpy_per_query(*p),
                "m3dreid": lambda i=inputs, d=dev: m3dreid_eval(*i, d),
                "numpy_rank": lambda p=problem, nd=np_dist: numpy_per_query(*p, dist=nd),
                "m3dreid_rank": lambda i=inputs, d=dev, md=m3_dist: m3dreid_eval(*i, d, dist=md),
            }
            t = time_interleaved(fns, device=dev, warmup=0, rounds=args.rounds)
            rows.append([
                f"{dim:,}", dev.type, f"{t['numpy']:.2f}", f"{t['m3dreid']:.3f}", f"{t['numpy'] / t['m3dreid']:.1f}x",
                f"{t['numpy_rank']:.2f}", f"{t['m3dreid_rank']:.3f}", f"{t['numpy_rank'] / t['m3dreid_rank']:.1f}x",
                f"{abs(m_ap - ref_map):.1e}", f"{np.abs(np.asarray(cmc) - ref_cmc).max():.1e}", f"{100 * m_ap:.2f}",
            ])  # fmt: skip
    headers = ["dim", "device", "numpy s", "m3dreid s", "speed-up", "numpy rank-only s", "m3dreid rank-only s",
               "rank-only speed-up", "mAP diff", "max CMC diff", "mAP %"]  # fmt: skip
    print(markdown_table(headers, rows))
    if len(devices) == 1:
        print(f"\n{NO_GPU_LINE}")
    print("\n'numpy s' / 'm3dreid s' include the distance matrix, rank-only columns start from it; the numpy")
    print("reference runs on the CPU in every row")


if __name__ == "__main__":
    main()
