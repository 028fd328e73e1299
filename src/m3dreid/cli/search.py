"""``m3dreid search QUERY --index IDX -k 10``: rank the gallery for one query tracklet and draw the ranked list."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from m3dreid.cli._common import positive_int

HELP = "rank an index's tracklets for a query tracklet (a folder of crops) and write a ranked-list image"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="folder of one tracklet's crops, or an `m3dreid tracklets` folder with --track")
    parser.add_argument("--index", required=True, help="index folder written by `m3dreid index`")
    parser.add_argument("-k", type=positive_int, default=10, help="how many gallery tracklets to return")
    parser.add_argument("--track", type=int, default=None, help="track id, when QUERY is an `m3dreid tracklets` folder")
    parser.add_argument(
        "--include-self", action="store_true", help="keep the query's own tracklet in the list (left out by default)"
    )
    parser.add_argument(
        "--cameras", default=None, metavar="1,3", help="rank only the tracklets of these camera ids (comma-separated)"
    )
    parser.add_argument(
        "--other-cameras", action="store_true", help="leave out every tracklet of the query's own camera"
    )
    parser.add_argument("--model", default=None, help="checkpoint (default: the one the index was built with)")
    parser.add_argument("--image", default=None, help="ranked-list image (default: IDX/search_<query>.jpg)")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    parser.add_argument("--nprobe", type=int, default=0, help="IVF cells to visit (0 = as built)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --image / --json file")
    parser.add_argument("--device", default="cpu")


def _query_tracklet(args: argparse.Namespace):
    """``(tracklet, name, (source folder, track id) or None)``: the query and, when it is a track of an `m3dreid
    tracklets` folder (``DIR --track N`` or ``DIR/bbox/NNNN``), which one, so its own index entry can be found."""
    from m3dreid.index import read_image_folder, read_tracklet_dir

    folder = Path(args.query)
    if (folder / "tracks.csv").is_file():
        if args.track is None:
            raise ValueError(f"{folder}: holds several tracklets; choose one with --track ID")
        tracklets, meta = read_tracklet_dir(folder)
        for t, m in zip(tracklets, meta, strict=True):
            if m["track_id"] == args.track:
                return t, f"{folder.name}_t{args.track}", (folder, args.track)
        raise ValueError(f"{folder}: no track {args.track}")
    tracklet = read_image_folder(folder)
    parent = folder.resolve().parent.parent  # DIR/bbox/0003 -> DIR
    if folder.resolve().parent.name == "bbox" and folder.name.isdigit() and (parent / "tracks.csv").is_file():
        return tracklet, folder.name, (parent, int(folder.name))
    return tracklet, folder.name, None


def _cameras(text: str | None) -> set[int] | None:
    if text is None:
        return None
    try:
        return {int(c) for c in text.split(",") if c.strip()}
    except ValueError:
        raise ValueError(f"--cameras {text!r}: expected comma-separated camera ids, e.g. 1,3") from None


def run(args: argparse.Namespace) -> int:
    from m3dreid.index import GalleryIndex, ranked_list_image, representative_frame
    from m3dreid.index.gallery import check_search_records
    from m3dreid.weights import CheckpointError

    try:
        index = GalleryIndex.load(args.index)
        check_search_records(index, args.index)
        query, name, identity = _query_tracklet(args)
        cameras = _cameras(args.cameras)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"m3dreid search: {err}", file=sys.stderr)
        return 2
    from m3dreid.errors import prepare_output

    image = Path(args.image) if args.image else Path(args.index) / f"search_{name}.jpg"
    for out in (image, args.json):
        if out:
            prepare_output(out, overwrite=args.overwrite, inputs=[args.index, args.query, args.model])
    own = index.find(*identity) if identity is not None else None
    if args.nprobe:
        index.set_nprobe(args.nprobe)
    if own is not None and args.model is None:
        feature = index.features[own]  # the query is in the index: its stored feature is what the model would give
    else:
        from m3dreid.index.embedders import embedder_from_record, load_embedder

        try:
            if args.model:
                embedder = load_embedder(args.model, device=args.device)
            elif "embedder" in index.info:  # the provider the index was built with, rebuilt the same way
                embedder = embedder_from_record(index.info["embedder"], device=args.device)
            else:
                embedder = load_embedder(index.info["model"], device=args.device,
                                         chunk_size=int(index.info.get("chunk_size", 0)))  # fmt: skip
        except (CheckpointError, FileNotFoundError, ValueError, KeyError) as err:
            print(f"m3dreid search: {err}", file=sys.stderr)
            return 2
        feature = embedder.embed([query])[0]
    query_cam = index.meta[own]["camid"] if own is not None else query.camid
    if args.other_cameras:
        cameras = (cameras or {m["camid"] for m in index.meta}) - {query_cam}
    exclude = (own,) if own is not None and not args.include_self else ()
    hits = index.rank(feature, args.k, exclude=exclude, cameras=cameras)
    threshold = index.same_person_threshold
    if threshold is None:
        print("same-person cue: none (the index has no threshold; rebuild it without --no-threshold)")
    else:
        print(f"same-person cue: distance <= {threshold:.4g} (estimated on this index; a hint, not a verdict)")
    results = []
    for hit in hits:
        m = hit.meta
        cue = {True: "same?", False: "", None: ""}[hit.same_person]
        thumbnail = m.get("thumbnail") or m["thumbnails"][1]
        results.append({**hit.as_dict(), "thumbnail": thumbnail})
        print(f"{hit.rank:3d}  d={hit.distance:<10.4g} {cue:<6s}cam {m['camid']:<3d} track {m['track_id']:<5d} "
              f"{m['num_frames']:4d} frames  {m['source']}")  # fmt: skip
    if not results:
        print("no gallery tracklet left after the filters")
    missing = sum(not Path(r["thumbnail"]).is_file() for r in results)
    if missing:
        print(f"m3dreid search: warning: {missing} of {len(results)} thumbnails are missing (crop folders moved or "
              "deleted since the index was built); they are drawn grey", file=sys.stderr)  # fmt: skip
    label = ("query", f"c{query_cam} t{index.meta[own]['track_id']}" if own is not None else "", "")
    ranked_list_image(representative_frame(query.frames), results, image, threshold=threshold, query_label=label)
    print(f"ranked list image -> {image}")
    if args.json:
        for r in results:
            r.pop("thumbnails", None)
        record = {"query": args.query, "query_gallery_index": own, "same_person_threshold": threshold,
                  "results": results}  # fmt: skip
        Path(args.json).write_text(json.dumps(record, indent=1))
    return 0
