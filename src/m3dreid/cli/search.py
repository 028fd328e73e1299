"""``m3dreid search QUERY --index IDX -k 10``: rank the gallery for one query tracklet and draw the ranked list."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "rank an index's tracklets for a query tracklet (a folder of crops) and write a ranked-list image"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="folder of one tracklet's crops, or an `m3dreid tracklets` folder with --track")
    parser.add_argument("--index", required=True, help="index folder written by `m3dreid index`")
    parser.add_argument("-k", type=int, default=10, help="how many gallery tracklets to return")
    parser.add_argument("--track", type=int, default=None, help="track id, when QUERY is an `m3dreid tracklets` folder")
    parser.add_argument("--model", default=None, help="checkpoint (default: the one the index was built with)")
    parser.add_argument("--image", default=None, help="ranked-list image (default: IDX/search_<query>.jpg)")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    parser.add_argument("--nprobe", type=int, default=0, help="IVF cells to visit (0 = as built)")
    parser.add_argument("--device", default="cpu")


def _query_tracklet(args: argparse.Namespace):
    from m3dreid.index import read_image_folder, read_tracklet_dir

    folder = Path(args.query)
    if (folder / "tracks.csv").is_file():
        if args.track is None:
            raise ValueError(f"{folder}: holds several tracklets; choose one with --track ID")
        tracklets, meta = read_tracklet_dir(folder)
        for t, m in zip(tracklets, meta, strict=True):
            if m["track_id"] == args.track:
                return t, f"{folder.name}_t{args.track}"
        raise ValueError(f"{folder}: no track {args.track}")
    return read_image_folder(folder), folder.name


def run(args: argparse.Namespace) -> int:
    from m3dreid.deploy import load_checkpoint_model
    from m3dreid.engine.checkpoint import CheckpointError
    from m3dreid.index import GalleryIndex, embed_tracklets, ranked_list_image

    try:
        index = GalleryIndex.load(args.index)
        query, name = _query_tracklet(args)
        model, config = load_checkpoint_model(args.model or index.info["model"])
    except (CheckpointError, FileNotFoundError, ValueError, KeyError) as err:
        print(f"m3dreid search: {err}", file=sys.stderr)
        return 2
    if args.nprobe:
        index.set_nprobe(args.nprobe)
    chunk = int(index.info.get("chunk_size", config.eval.chunk_size))
    feats = embed_tracklets(model, [query], config.data, chunk_size=chunk, device=args.device)
    distances, ids = index.search(feats, args.k)
    results = []
    for rank, (d, i) in enumerate(zip(distances[0], ids[0], strict=True), start=1):
        if i < 0:
            break
        m = index.meta[i]
        results.append({"rank": rank, "distance": float(d), "gallery_index": int(i), "camid": m["camid"],
                        "track_id": m["track_id"], "video": m["video"], "source": m["source"],
                        "num_frames": m["num_frames"], "thumbnail": m["thumbnails"][1]})  # fmt: skip
        print(f"{rank:3d}  d={d:<10.4g} cam {m['camid']:<3d} track {m['track_id']:<5d} "
              f"{m['num_frames']:4d} frames  {m['source']}")  # fmt: skip
    image = Path(args.image) if args.image else Path(args.index) / f"search_{name}.jpg"
    ranked_list_image(query.frames[len(query.frames) // 2], results, image)
    print(f"ranked list image -> {image}")
    if args.json:
        Path(args.json).write_text(json.dumps({"query": args.query, "results": results}, indent=1))
    return 0
