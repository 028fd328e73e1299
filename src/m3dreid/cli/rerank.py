"""``m3dreid rerank``: metrics from saved features, plain and k-reciprocal re-ranked, without the network."""

from __future__ import annotations

import argparse

from m3dreid.cli._common import add_config_arguments, config_from_args

HELP = "evaluate saved features (RUN or RUN/features.npz) with and without k-reciprocal re-ranking"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("features", help="a run folder holding features.npz, or a .npz file from `m3dreid extract`")
    add_config_arguments(parser)  # eval.distance, eval.k1, eval.k2, eval.lambda_value, eval.max_rank
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--ap-definition", default=None, choices=("standard", "mars_kit"),
                        help="override the dataset's AP definition")  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="do not add the results to RUN/results.json")


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from m3dreid.evaluation.evaluate import eval_settings, evaluate_features
    from m3dreid.evaluation.features import load_features
    from m3dreid.report.runs import FEATURES_FILE, write_results

    ev = config_from_args(args).eval
    path = Path(args.features)
    if path.suffix != ".npz":  # a run folder
        path = path / FEATURES_FILE
    features = load_features(path)
    header = "| result | R1 | R5 | R10 | R20 | mAP | mINP | queries valid/no match | seconds |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for rerank in (False, True):
        start = time.perf_counter()
        result = evaluate_features(
            features, rerank=rerank, ap_definition=args.ap_definition, device=args.device, **eval_settings(ev)
        )
        seconds = time.perf_counter() - start
        label = ev.distance + ("+rerank" if rerank else "")
        ranks = " | ".join(f"{100 * result.rank(r):.1f}" if r <= ev.max_rank else "-" for r in (1, 5, 10, 20))
        print(f"| {label} | {ranks} | {100 * result.mAP:.1f} | {100 * result.mINP:.1f} | "
              f"{result.num_valid_queries}/{result.num_no_match} | {seconds:.2f} |")  # fmt: skip
        if not args.no_write:
            extra = {"metric": ev.distance, "rerank": rerank, "features": str(path), "seconds": seconds}
            if rerank:
                extra.update(k1=ev.k1, k2=ev.k2, lambda_value=ev.lambda_value)
            write_results(path.parent, result, label=label, extra=extra)
    print(f"AP definition: {args.ap_definition or features.ap_definition}; percent")
    return 0
