"""Re-id on real footage: ground-truth tracks of MOT15 TUD-Campus and TUD-Stadtmitte, split in time.

Every track is cut out of its video (crops from the gt boxes, ``m3dreid tracklets --detections gt.txt``) and split
in time: its first half is a query, its second half is in the gallery. Both sequences are pooled, so every other
track of either video is a distractor (18 tracks in all). The harder variant leaves ``gap`` frames out between the
two halves (the person has moved on: other pose, place, light); tracks too short for the gap (fewer than ``gap +
2 * MIN_HALF`` frames) ask no query and put their second half in the gallery as a distractor.

Scored for: the colour-histogram floor, the ``appearance`` descriptor, the shipped 2D and M3D networks, each fused
with the descriptor (``m3dreid index`` without ``--model`` uses the 2D fusion), and, with ``--adapt``, the network
after ``m3dreid adapt`` on these two videos' tracklets, no labels, in two ways: ``adapted`` sees the whole tracks,
as a user's ``adapt`` would (so the query and the gallery half of a track were one tracklet, i.e. positives, during
adaptation: an optimistic, transductive figure), ``adapted (first 40 %)`` sees only the first 40 % of each track's
frames (never a gallery frame, whatever the gap: the gallery half starts at 50 % or later), which measures what the
adaptation learnt about the footage rather than about the scored pairs. Rank-1 and mAP (one true match a query, so
AP is 1 / rank of it). This is held-out report data: nothing in the package was tuned on it.

    python benchmarks/real_reid.py --mot15 /work/shared/mot15 [--gap 0 20] [--adapt] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

_SRC = Path(__file__).resolve().parents[1] / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
MIN_HALF = 4  # frames a half needs at least
CROP = (128, 64)  # crop size written to disk (each method resizes to its own input size)


def cut_tracks(mot15: Path, work: Path) -> list[Path]:
    """One ``m3dreid tracklets`` folder per sequence, cut from its gt boxes (done once, kept in ``work``)."""
    from m3dreid.video import GivenIdTracker, MotReplay, build_tracklets, read_mot

    folders = []
    for camid, name in enumerate(SEQUENCES, start=1):
        out = work / "tracks" / name
        if not (out / "tracks.csv").is_file():
            seq = mot15 / name
            build_tracklets(seq / f"{name}.mp4", out, detector=MotReplay(read_mot(seq / "gt" / "gt.txt")),
                            tracker=GivenIdTracker(), camid=camid, crop_size=CROP, progress=False)  # fmt: skip
        folders.append(out)
    return folders


def first_part(folders: list[Path], work: Path, fraction: float) -> list[Path]:
    """Copies of the tracklet folders whose tracks.csv keeps only the first ``fraction`` of each track's rows."""
    import csv
    import shutil

    from m3dreid.video.crops import CSV_FIELDS

    out = []
    for folder in folders:
        target = work / f"first_{int(100 * fraction)}" / folder.name
        target.mkdir(parents=True, exist_ok=True)
        with (folder / "tracks.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        by_track: dict[str, list[dict]] = {}
        for row in rows:
            by_track.setdefault(row["track_id"], []).append(row)
        with (target / "tracks.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for track in by_track.values():
                track.sort(key=lambda r: int(r["frame"]))
                for row in track[: max(2, int(fraction * len(track)))]:
                    writer.writerow({**row, "path": str((folder / row["path"]).resolve())})
        shutil.copy(folder / "video.json", target / "video.json")
        out.append(target)
    return out


def split_tracks(folders: list[Path], gap: int):
    """(queries, gallery) tracklets, pids unique over both sequences (sequence k's track t is pid 1000 k + t)."""
    from m3dreid.data.base import Tracklet
    from m3dreid.index import read_tracklet_dir

    queries, gallery = [], []
    for k, folder in enumerate(folders, start=1):
        tracklets, _ = read_tracklet_dir(folder)
        for t in tracklets:
            n, pid = len(t.frames), 1000 * k + t.pid
            if n >= gap + 2 * MIN_HALF:
                half = (n - gap) // 2
                queries.append(Tracklet(t.frames[:half], pid, 0))
                gallery.append(Tracklet(t.frames[half + gap :], pid, 1))
            else:
                gallery.append(Tracklet(t.frames[n // 2 :], pid, 1))
    return queries, gallery


def scores(q: np.ndarray, g: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray, metric: str) -> dict:
    """Rank-1 and mAP (standard AP over every true match; here one a query)."""
    if metric == "cosine":
        qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        gn = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        dist = 1.0 - qn @ gn.T
    else:
        dist = (q**2).sum(1)[:, None] + (g**2).sum(1)[None, :] - 2 * q @ g.T
    rank1, aps = [], []
    for i in range(len(q)):
        order = np.argsort(dist[i], kind="stable")
        match = g_pids[order] == q_pids[i]
        hits = np.flatnonzero(match)
        rank1.append(bool(match[0]))
        aps.append(float(np.mean((np.arange(len(hits)) + 1) / (hits + 1))))
    return {"rank1": float(np.mean(rank1)), "mAP": float(np.mean(aps)), "queries": len(q), "gallery": len(g)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mot15", required=True, help="folder holding TUD-Campus/ and TUD-Stadtmitte/")
    parser.add_argument("--work", default="runs/real_reid", help="where crops (and the adapted model) are kept")
    parser.add_argument("--gap", type=int, nargs="+", default=[0, 20], help="frames left out between the halves")
    parser.add_argument("--adapt", action="store_true", help="also run `m3dreid adapt` on the two videos")
    parser.add_argument("--adapt-args", default="", help="extra arguments for adapt (e.g. '--rounds 2')")
    parser.add_argument("--methods", nargs="+", default=None, help="subset of methods to score")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    from m3dreid.index.embedders import load_embedder
    from m3dreid.pretrained import PRETRAINED

    mot15, work = Path(args.mot15), Path(args.work)
    folders = cut_tracks(mot15, work)
    methods = {"color_histogram": ("color_histogram", ""), "appearance": ("appearance", "")}
    for name in PRETRAINED:
        methods[f"pretrained-{name}"] = (f"pretrained-{name}", "")
        methods[f"pretrained-{name} + appearance"] = (f"pretrained-{name}", "appearance")
    methods["default (no --model)"] = ("default", "")
    if args.adapt:
        from m3dreid.cli import main as cli_main

        inputs = {"": folders, " (first 40 %)": first_part(folders, work, 0.4)}
        for name in PRETRAINED:
            for label, dirs in inputs.items():
                run = work / f"adapt_{name}{'_first40' if label else ''}"
                if not (run / "model.pt").is_file():
                    extra = args.adapt_args.split() if args.adapt_args else []
                    cmd = ["adapt", *map(str, dirs), "--out", str(run), "--init", f"pretrained-{name}",
                           "--no-progress", "--overwrite", *extra]  # fmt: skip
                    start = time.perf_counter()
                    if cli_main(cmd) != 0:
                        raise SystemExit(f"adapt failed: {' '.join(cmd)}")
                    print(f"adapt {name}{label}: {time.perf_counter() - start:.0f} s")
                methods[f"adapted {name}{label}"] = (str(run / "model.pt"), "")
                methods[f"adapted {name}{label} + appearance"] = (str(run / "model.pt"), "appearance")
    if args.methods:
        methods = {k: v for k, v in methods.items() if k in args.methods}
    results: dict = {"conditions": {"sequences": list(SEQUENCES), "crop": list(CROP), "min_half": MIN_HALF,
                                    "threads": 1}, "gaps": {}}  # fmt: skip
    for gap in args.gap:
        queries, gallery = split_tracks(folders, gap)
        q_pids = np.array([t.pid for t in queries])
        g_pids = np.array([t.pid for t in gallery])
        rows = {}
        for name, (spec, fuse_with) in methods.items():
            embedder = load_embedder(spec, fuse_with=fuse_with, fuse_weight=0.5)
            start = time.perf_counter()
            feats = embedder.embed(queries + gallery)
            rows[name] = scores(feats[: len(queries)], feats[len(queries) :], q_pids, g_pids, embedder.metric)
            rows[name]["seconds"] = round(time.perf_counter() - start, 2)
        results["gaps"][str(gap)] = rows
        print(f"\ngap {gap} frames: {len(queries)} queries, {len(gallery)} gallery tracklets")
        print("| method | rank-1 | mAP |\n|---|---|---|")
        for name, r in rows.items():
            print(f"| {name} | {100 * r['rank1']:.1f} | {100 * r['mAP']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
