"""``m3dreid adapt TRACKLET_DIRS --out RUN [--init CKPT|appearance]``: fine-tune on own tracklets, no labels."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "self-supervised fine-tuning on your own `m3dreid tracklets` folders (no labels); writes RUN/model.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", help="folders written by `m3dreid tracklets` (one per video / camera)")
    parser.add_argument("--out", required=True, help="run folder: model.pt (for index/search --model) and adapt.json")
    parser.add_argument(
        "--init",
        default="pretrained-2d",
        help="start from: a checkpoint, pretrained-2d / pretrained-m3d (shipped), or appearance (the descriptor "
        "links the first round; the network starts from the shipped --arch model)",
    )
    parser.add_argument("--arch", default="2d", choices=("2d", "m3d"), help="network for --init appearance")
    parser.add_argument("--rounds", type=int, default=3, help="link-and-train rounds")
    parser.add_argument("--steps", type=int, default=60, help="Adam steps a round")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seq-len", type=int, default=4, help="frames a training clip")
    parser.add_argument("--min-length", type=int, default=2, help="skip tracklets with fewer frames")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing RUN/model.pt")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    import torch

    from m3dreid.config import config_to_dict
    from m3dreid.deploy import load_checkpoint_model
    from m3dreid.index.embedders import AppearanceEmbedder
    from m3dreid.tasks.adapt import AdaptConfig, adapt_config_dict, adapt_model, read_adapt_tracklets
    from m3dreid.weights import CheckpointError, atomic_save, load_file

    out = Path(args.out)
    if (out / "model.pt").exists() and not args.overwrite:
        print(f"m3dreid adapt: {out / 'model.pt'} exists (use --overwrite to replace it)", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.steps < 1:
        print(f"m3dreid adapt: --rounds and --steps must be >= 1 (got {args.rounds}, {args.steps})", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.init == "appearance" or args.init.startswith("pretrained-"):
            from m3dreid.pretrained import pretrained_path

            name = args.arch if args.init == "appearance" else args.init.removeprefix("pretrained-")
            path = pretrained_path(name)
        else:
            path = Path(args.init)
        model, config = load_checkpoint_model(path)
        source = load_file(path)
        tracklets, meta = read_adapt_tracklets(args.dirs, min_length=args.min_length)
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        print(f"m3dreid adapt: {err}", file=sys.stderr)
        return 2
    if len(tracklets) < 2:
        print(f"m3dreid adapt: need at least 2 tracklets of {args.min_length}+ frames in {', '.join(args.dirs)}",
              file=sys.stderr)  # fmt: skip
        return 2
    cfg = AdaptConfig(rounds=args.rounds, steps=args.steps, lr=args.lr, seq_len=args.seq_len,
                      min_length=args.min_length, seed=args.seed)  # fmt: skip
    init_features = None
    if args.init == "appearance":
        init_features = AppearanceEmbedder().embed(tracklets, progress=not args.no_progress)
    result = adapt_model(model, config.data, tracklets, meta, cfg, init_features=init_features,
                         progress=not args.no_progress)  # fmt: skip
    old_meta = dict(source.get("meta", {}) or {})
    sources = [str(Path(d).resolve()) for d in args.dirs]
    record = {"init": str(args.init), "init_checkpoint": str(path), "sources": sources,
              "config": adapt_config_dict(cfg), "rounds": result.rounds}  # fmt: skip
    ckpt_meta = old_meta | {"training_data": old_meta.get("training_data", config.data.dataset), "adapt": record}
    out.mkdir(parents=True, exist_ok=True)
    atomic_save({"model": result.model.state_dict(), "config": config_to_dict(config), "meta": ckpt_meta},
                out / "model.pt")  # fmt: skip
    (out / "adapt.json").write_text(json.dumps(record, indent=1) + "\n")
    last = result.rounds[-1]
    print(f"{len(tracklets)} tracklets, {len(result.rounds)} rounds, last round {last['links']} links -> "
          f"{last['pseudo_ids']} pseudo-identities; model -> {out / 'model.pt'}")  # fmt: skip
    return 0
