"""``m3dreid index DIR [DIR ...] [--model CKPT|appearance|...] --out IDX``: embed every tracklet into a FAISS gallery
index; ``--add`` appends the tracklets of more folders to the existing index ``IDX`` without rebuilding it.

Without ``--model`` the shipped network fused with the ``appearance`` descriptor is used (``index.embedders``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "embed the tracklets of one or more `m3dreid tracklets` folders into a FAISS gallery index"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", help="folders written by `m3dreid tracklets` (one per video / camera)")
    parser.add_argument(
        "--model",
        default=None,
        help="a trained checkpoint, or appearance | color_histogram | pretrained-2d | pretrained-m3d (default: the "
        "shipped 2D network fused with the appearance descriptor; with --add: the index's own)",
    )
    parser.add_argument("--fuse", default="", help="fuse --model with this provider too (e.g. appearance)")
    parser.add_argument("--fuse-weight", type=float, default=0.5, help="weight of --fuse in the fusion (0..1)")
    parser.add_argument("--out", required=True, help="index folder to write (index.faiss, features.npy, meta.json)")
    parser.add_argument("--add", action="store_true", help="append the folders' tracklets to the existing index --out "
                        "(same model; folders already in it are refused)")  # fmt: skip
    parser.add_argument("--metric", default=None, help="euclidean | cosine (default: the checkpoint's eval.distance)")
    parser.add_argument("--kind", default="auto", help="flat | ivf | auto (IVF from 20,000 tracklets)")
    parser.add_argument("--nlist", type=int, default=0, help="IVF cells (0 = about 4 sqrt(N))")
    parser.add_argument("--min-length", type=int, default=2, help="skip tracklets with fewer frames")
    parser.add_argument("--chunk-size", type=int, default=0, help="frames through the network at once (0 = config)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    parser.add_argument(
        "--no-threshold",
        action="store_true",
        help="skip estimating the same-person threshold (it embeds each tracklet's two halves once more)",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing index folder (not with --add)")


def _model_label(spec: str) -> str:
    """What the index records as its model: a checkpoint's absolute path, or the provider's name."""
    return str(Path(spec).resolve()) if Path(spec).is_file() else spec


def run(args: argparse.Namespace) -> int:
    from m3dreid.errors import prepare_output
    from m3dreid.index import GalleryIndex, read_tracklet_dir, representative_frame
    from m3dreid.index.embedders import load_embedder, warn_if_synthetic
    from m3dreid.index.gallery import INDEX_FILES
    from m3dreid.index.threshold import same_person_record
    from m3dreid.weights import CheckpointError

    if args.add:
        return _add(args)
    inputs = [*args.dirs, args.model if args.model and Path(args.model).exists() else None]
    prepare_output(args.out, overwrite=args.overwrite, inputs=inputs, owned=INDEX_FILES,
                   hint="pass --overwrite to replace it, or --add to append to it")  # fmt: skip
    spec = args.model or "default"
    try:
        embedder = load_embedder(_model_label(spec), device=args.device, chunk_size=args.chunk_size,
                                 fuse_with=args.fuse, fuse_weight=args.fuse_weight)  # fmt: skip
        tracklets, meta = [], []
        for folder in args.dirs:
            t, m = read_tracklet_dir(folder, min_length=args.min_length)
            tracklets += t
            meta += m
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        print(f"m3dreid index: {err}", file=sys.stderr)
        return 2
    if not tracklets:
        print(
            f"m3dreid index: no tracklets of at least {args.min_length} frames in {', '.join(args.dirs)}",
            file=sys.stderr,
        )
        return 2
    warning = warn_if_synthetic(embedder, sources=args.dirs)
    if warning:
        print(f"m3dreid index: {warning}", file=sys.stderr)
    feats = embedder.embed(tracklets, progress=not args.no_progress)
    for t, m in zip(tracklets, meta, strict=True):
        m["thumbnail"] = representative_frame(t.frames)
    record = embedder.describe()  # search / --add rebuild the same provider from it
    info = {"model": _model_label(spec), "embedder": record} | {k: v for k, v in record.items() if k != "kind"}
    index = GalleryIndex.build(feats, meta, metric=args.metric or embedder.metric, kind=args.kind,
                               nlist=args.nlist, info=info)  # fmt: skip
    if not args.no_threshold:
        index.info["same_person"] = same_person_record(
            tracklets, meta, feats, embed=embedder.embed, distance=index.pair_distance
        )
    index.save(args.out)
    cams = sorted({m["camid"] for m in meta})
    print(
        f"{len(index)} tracklets from {len(args.dirs)} folder(s), cameras {cams}, "
        f"{index.kind} {index.metric} index -> {args.out}"
    )
    record = index.info.get("same_person")
    if record and record["threshold"] is not None:
        print(f"same-person threshold {record['threshold']:.4g} (balanced error {record['balanced_error']:.2f} on "
              f"{record['same_pairs']} same-track / {record['different_pairs']} same-frame pairs)")  # fmt: skip
    elif record:
        print(f"same-person threshold: not estimated ({record['reason']})")
    return 0


def _add(args: argparse.Namespace) -> int:
    """Embed the new folders with the index's model and append them: the old vectors (and IVF cells) stay."""
    from m3dreid.index import GalleryIndex, read_tracklet_dir, representative_frame
    from m3dreid.index.embedders import embedder_from_record, load_embedder
    from m3dreid.weights import CheckpointError

    try:
        index = GalleryIndex.load(args.out)
        built_with = index.info.get("model")
        if args.model and built_with and _model_label(args.model) != _model_label(built_with):
            raise ValueError(f"{args.out}: built with {built_with}, not {args.model}; "
                             f"features of two models cannot be ranked together")  # fmt: skip
        if "embedder" in index.info:
            embedder = embedder_from_record(index.info["embedder"], device=args.device)
        elif args.model or built_with:
            embedder = load_embedder(args.model or built_with, device=args.device,
                                     chunk_size=int(index.info.get("chunk_size") or args.chunk_size))  # fmt: skip
        else:
            raise ValueError(f"{args.out}: meta.json names no model; give --model")
        known = {str(Path(m["source"]).resolve()) for m in index.meta if "source" in m}
        tracklets, meta = [], []
        for folder in args.dirs:
            if str(Path(folder).resolve()) in known:
                raise ValueError(f"{folder}: already in the index {args.out}")
            t, m = read_tracklet_dir(folder, min_length=args.min_length)
            tracklets += t
            meta += m
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        print(f"m3dreid index: {err}", file=sys.stderr)
        return 2
    if not tracklets:
        print(f"m3dreid index: no tracklets of at least {args.min_length} frames in {', '.join(args.dirs)}",
              file=sys.stderr)  # fmt: skip
        return 2
    feats = embedder.embed(tracklets, progress=not args.no_progress)
    for t, m in zip(tracklets, meta, strict=True):
        m["thumbnail"] = representative_frame(t.frames)
    try:
        index.add(feats, meta)  # the same-person threshold stays the one estimated when the index was built
    except ValueError as err:
        print(f"m3dreid index: {args.out}: {err}", file=sys.stderr)
        return 2
    index.save(args.out)
    print(f"added {len(meta)} tracklets from {len(args.dirs)} folder(s); {len(index)} in {args.out}")
    return 0
