"""Turn a training run's checkpoint into a shipped package file: weights, config and provenance, nothing else.

    python -m m3dreid.pretrained.build runs/pretrained/2d/last.pt --name 2d

Drops the optimizer state and the training classifier (retrieval does not use it; ``load_checkpoint_model`` builds
the model without one), and records in ``meta`` that the training data is synthetic (procedural people), so that
``index`` warns until the model is adapted to real footage. Written atomically; loads with ``weights_only=True``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from pathlib import Path

from m3dreid.pretrained import PRETRAINED
from m3dreid.weights import atomic_save, extract_state_dict, load_file

__all__ = ["build_pretrained"]

log = logging.getLogger(__name__)


def build_pretrained(source: str | Path, name: str, *, out_dir: str | Path | None = None) -> Path:
    obj = load_file(source)
    state = {k: v for k, v in extract_state_dict(obj, source).items() if not k.startswith("classifier.")}
    meta = {
        "training_data": "synthetic",
        "generator": "m3dreid.data.people (procedural people, `m3dreid make-people`)",
        "trained_steps": int(obj.get("global_step", 0) or 0),
        "source_sha256": hashlib.sha256(Path(source).read_bytes()).hexdigest(),
    }
    out = Path(out_dir or Path(__file__).parent) / PRETRAINED[name]
    atomic_save({"model": state, "config": obj["config"], "meta": meta}, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ship a trained checkpoint as package data")
    parser.add_argument("source", help="a run's last.pt")
    parser.add_argument("--name", required=True, choices=sorted(PRETRAINED))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = build_pretrained(args.source, args.name)
    log.info("%s (%.1f MB)", out, out.stat().st_size / 1e6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
