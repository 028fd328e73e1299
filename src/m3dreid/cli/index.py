"""``m3dreid index DIR [DIR ...] --model CKPT --out IDX``: embed every tracklet into a FAISS gallery index;
``--add`` appends the tracklets of more folders to the existing index ``IDX`` without rebuilding it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "embed the tracklets of one or more `m3dreid tracklets` folders into a FAISS gallery index"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", help="folders written by `m3dreid tracklets` (one per video / camera)")
    parser.add_argument("--model", default=None, help="trained checkpoint (holds 'model' and 'config'; with --add: "
                        "default the index's own)")  # fmt: skip
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


def run(args: argparse.Namespace) -> int:
    from m3dreid.deploy import load_checkpoint_model
    from m3dreid.engine.checkpoint import CheckpointError
    from m3dreid.index import GalleryIndex, embed_tracklets, read_tracklet_dir, representative_frame
    from m3dreid.index.threshold import same_person_record

    if args.add:
        return _add(args)
    if args.model is None:
        print("m3dreid index: --model is required (a trained checkpoint)", file=sys.stderr)
        return 2
    try:
        model, config = load_checkpoint_model(args.model)
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
    chunk = args.chunk_size or config.eval.chunk_size
    feats = embed_tracklets(
        model, tracklets, config.data, chunk_size=chunk, device=args.device, progress=not args.no_progress
    )
    for t, m in zip(tracklets, meta, strict=True):
        m["thumbnail"] = representative_frame(t.frames)
    info = {"model": str(Path(args.model).resolve()), "model_name": config.model.name, "height": config.data.height,
            "width": config.data.width, "chunk_size": chunk}  # fmt: skip
    index = GalleryIndex.build(feats, meta, metric=args.metric or config.eval.distance, kind=args.kind,
                               nlist=args.nlist, info=info)  # fmt: skip
    if not args.no_threshold:
        index.info["same_person"] = same_person_record(
            tracklets,
            meta,
            feats,
            embed=lambda ts: embed_tracklets(model, ts, config.data, chunk_size=chunk, device=args.device),
            distance=index.pair_distance,
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
    from pathlib import Path

    from m3dreid.deploy import load_checkpoint_model
    from m3dreid.engine.checkpoint import CheckpointError
    from m3dreid.index import GalleryIndex, embed_tracklets, read_tracklet_dir, representative_frame

    try:
        index = GalleryIndex.load(args.out)
        built_with = index.info.get("model")
        if args.model and built_with and Path(args.model).resolve() != Path(built_with).resolve():
            raise ValueError(f"{args.out}: built with {built_with}, not {args.model}; "
                             f"features of two models cannot be ranked together")  # fmt: skip
        model_path = args.model or built_with
        if not model_path:
            raise ValueError(f"{args.out}: meta.json names no model; give --model")
        model, config = load_checkpoint_model(model_path)
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
    chunk = int(index.info.get("chunk_size") or args.chunk_size or config.eval.chunk_size)
    feats = embed_tracklets(model, tracklets, config.data, chunk_size=chunk, device=args.device,
                            progress=not args.no_progress)  # fmt: skip
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
