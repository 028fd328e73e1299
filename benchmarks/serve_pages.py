"""Server-side time of each `m3dreid serve` page on an index of 10,000 generated tracklets (target: well under a
second a page on one core).

The index is generated, not embedded: N tracklets in V videos of one camera each (10-40 frames each, spread over 20
minutes of 25-frame/s video), random D-dimensional features (D = 2048, an M3D ResNet-50 embedding), `tracks.csv`
files with a row per frame, and crops that are a few shared JPEGs inside each video folder (the pages' cost does
not depend on what the crops show). Each page is requested through Flask's test client (routing, the ranking,
templates, the response; no network), FAISS on one thread. Figures: the fastest and the median of ``--repeats``
requests, each for another query track; beside them the bare `GalleryIndex.search` of the same queries, so the
page's own cost shows as a ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import faiss
import numpy as np
import torch
from _common import describe_device, markdown_table  # also puts src/ on the path


def generate_index(root: Path, *, tracklets: int, videos: int, dim: int, seed: int = 0) -> Path:
    from m3dreid.index import GalleryIndex
    from m3dreid.video.crops import CSV_FIELDS

    rng = np.random.default_rng(seed)
    per_video = -(-tracklets // videos)
    meta = []
    for v in range(videos):
        source = root / f"cam{v + 1}"
        shared = source / "bbox" / "shared"
        shared.mkdir(parents=True)
        crops = []
        for i in range(8):  # a few real JPEG crops, shared by every track of the video
            image = rng.integers(0, 255, (256, 128, 3), dtype=np.uint8)
            path = shared / f"crop{i}.jpg"
            cv2.imwrite(str(path), cv2.GaussianBlur(image, (0, 0), 4))
            crops.append(path)
        (source / "video.json").write_text(json.dumps({"video": f"/videos/cam{v + 1}.mp4", "fps": 25.0}))
        with (source / "tracks.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_FIELDS)
            for t in range(min(per_video, tracklets - v * per_video)):
                length = int(rng.integers(10, 41))
                first = int(rng.integers(1, 30000 - length))
                paths = [crops[(t + f) % len(crops)] for f in range(length)]
                for f in range(length):
                    writer.writerow((t + 1, first + f, 10, 20, 64, 128, 0.9, v + 1, paths[f].relative_to(source)))
                meta.append({"source": str(source), "video": f"/videos/cam{v + 1}.mp4", "camid": v + 1,
                             "track_id": t + 1, "num_frames": length, "first_frame": first,
                             "last_frame": first + length - 1,
                             "thumbnails": [str(paths[0]), str(paths[length // 2]), str(paths[-1])]})  # fmt: skip
    feats = rng.standard_normal((len(meta), dim)).astype(np.float32)
    GalleryIndex.build(feats, meta, kind="flat", info={"model": "generated"}).save(root / "idx")
    return root / "idx"


def timed(fn, repeats: int) -> tuple[float, float]:
    """(fastest, median) seconds over ``repeats`` calls of ``fn(i)``."""
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (the index keeps its size)")
    parser.add_argument("--tracklets", type=int, default=10000)
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=0, help="requests per page (default 20, --quick 8)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    repeats = args.repeats or (8 if args.quick else 20)
    faiss.omp_set_num_threads(1)

    torch.set_num_threads(1)
    from m3dreid.index import GalleryIndex
    from m3dreid.serve import create_app

    print(describe_device(torch.device("cpu")) + ", FAISS 1 thread")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index_dir = generate_index(Path(tmp), tracklets=args.tracklets, videos=args.videos, dim=args.dim)
        print(f"generated {args.tracklets} tracklets in {args.videos} videos, D={args.dim}: "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        start = time.perf_counter()
        app = create_app(index_dir)
        startup = time.perf_counter() - start
        catalog = app.config["CATALOG"]
        client = app.test_client()
        n = len(catalog)
        queries = np.random.default_rng(1).choice(n, repeats, replace=False).tolist()
        token = app.config["TOKEN"]
        index = GalleryIndex.load(index_dir)

        def get(url: str) -> None:
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)

        def post_mark(i: int) -> None:
            q = queries[i]
            r = client.post("/marks", data={"token": token, "query": q, "match": (q + 1) % n, "verdict": "right"})
            assert r.status_code == 303

        pages = {
            "overview, page 1 (60 tracks)": lambda i: get("/"),
            "overview, camera 3, page 8 of 17": lambda i: get("/?cam=3&page=8"),
            "person page, k=20": lambda i: get(f"/person/{queries[i]}"),
            "person page, k=100": lambda i: get(f"/person/{queries[i]}?k=100"),
            "person page, camera 2 + 5-min window": lambda i: get(f"/person/{queries[i]}?cam=2&t0=300&t1=600"),
            "timeline": lambda i: get(f"/timeline/{queries[i]}"),
            "mark a match (POST, marks.json rewritten)": post_mark,
            "timeline with marks": lambda i: get(f"/timeline/{queries[i]}"),
            "thumbnail strip (3 crops, first request)": lambda i: get(f"/strip/{queries[i]}.jpg"),
            "thumbnail strip (again, cached)": lambda i: get(f"/strip/{queries[i]}.jpg"),
            "play GIF (first request)": lambda i: get(f"/play/{queries[i]}.gif"),
            "identity zip": lambda i: get(f"/person/{queries[i]}/identity.zip"),
        }
        get("/")  # warm the templates once
        bare = timed(lambda i: index.search(index.features[queries[i] : queries[i] + 1], n), repeats)
        rows = [["bare GalleryIndex.search, whole ranking", f"{1e3 * bare[0]:.1f}", f"{1e3 * bare[1]:.1f}", "1.0"]]
        figures = {"startup_s": startup, "bare_search_ms": 1e3 * bare[1]}
        for name, fn in pages.items():
            fastest, median = timed(fn, repeats)
            rows.append([name, f"{1e3 * fastest:.1f}", f"{1e3 * median:.1f}", f"{median / bare[1]:.1f}"])
            figures[name] = 1e3 * median
        print(f"\nserver start (load the index, group its tracks by video): {startup:.2f} s\n")
        print(markdown_table(["request", "fastest ms", "median ms", "median / bare search"], rows))
        worst = max(v for k, v in figures.items() if k.startswith(("overview", "person", "timeline")))
        print(f"\nslowest page (median): {worst:.0f} ms -> {'under' if worst < 1000 else 'OVER'} the 1 s target")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
