"""``m3dreid demo``: the paper's experiment end to end on CPU, on synthetic data, in a few minutes.

Steps: build the synthetic data set (MARS layout), train the 2D stream and the M3D stream (the two trainings run at
the same time in two processes of one thread each: on 2 cores that beats one two-thread process, whose threads wait
on each other at every layer), evaluate each on whole tracklets, assemble the two-stream model from both checkpoints
(no extra training, as in the paper), evaluate it, write the HTML report and print the table.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from m3dreid.errors import MissingInputError

HELP = "synthetic data -> train 2D and M3D streams -> assemble two-stream -> evaluate all three -> report (CPU)"

STREAMS = ("2d", "m3d")
PRESETS = {"2d": "cpu_demo_2d.yaml", "m3d": "cpu_demo_m3d.yaml", "two_stream": "cpu_demo_two_stream.yaml"}
TITLES = {"2d": "2D CNN (spatial stream)", "m3d": "M3D CNN (temporal stream)", "two_stream": "two-stream (2D + M3D)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="folder for the data, the three runs and the report")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data and of training")
    parser.add_argument("--size", default="small", choices=("tiny", "small"), help="synthetic data set size")
    parser.add_argument("--configs", default=None, help="folder of the cpu_demo_*.yaml presets (default: packaged)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value of all three presets, e.g. --set train.epochs=2")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="train the two streams in parallel (2)")
    parser.add_argument(
        "--overwrite", action="store_true", help="train again over an earlier demo's runs and report (data reused)"
    )


def _configs_dir(given: str | None) -> Path:
    from m3dreid.resources import configs_dir

    folder = Path(given) if given else configs_dir()  # the packaged presets (the checkout's configs/ in a checkout)
    if not (folder / PRESETS["2d"]).is_file():
        raise MissingInputError(f"cpu_demo presets not found in {folder}; pass --configs DIR")
    return folder


def _config(configs: Path, stream: str, out: Path, seed: int, overrides: list[str], **kwargs: str) -> Any:
    from m3dreid.config import load_config

    sets = [f"data.root={out / 'data'}", f"output_dir={out / stream}", f"train.seed={seed}", *overrides]
    config = load_config(configs / PRESETS[stream], sets)
    if kwargs:
        import dataclasses

        model = dataclasses.replace(config.model, kwargs={**config.model.kwargs, **kwargs})
        config = dataclasses.replace(config, model=model)
    return config


def _train_and_evaluate(config: Any) -> dict[str, Any]:
    """One stream: train, then evaluate on whole tracklets."""
    from m3dreid.tasks.evaluate import evaluate_run
    from m3dreid.tasks.train import train

    start = time.perf_counter()
    result = train(config)
    trained = time.perf_counter()
    metrics = evaluate_run(config, checkpoint=result.checkpoint, rerank=False)
    return {
        "checkpoint": str(result.checkpoint),
        "train_s": trained - start,
        "eval_s": time.perf_counter() - trained,
        "results": metrics,
        "loss": result.last_loss,
        "acc": result.last_acc,
    }


def _worker(config: Any) -> dict[str, Any]:
    import torch

    from m3dreid.cli import setup_logging

    setup_logging()
    torch.set_num_threads(1)
    return _train_and_evaluate(config)


def _train_streams(configs: dict[str, Any], jobs: int) -> dict[str, dict[str, Any]]:
    if jobs == 1:
        return {stream: _train_and_evaluate(configs[stream]) for stream in STREAMS}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: a fresh interpreter per stream, no inherited OpenMP state (fork after torch has run can hang).
    with ProcessPoolExecutor(max_workers=len(STREAMS), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {stream: pool.submit(_worker, configs[stream]) for stream in STREAMS}
        return {stream: future.result() for stream, future in futures.items()}


def _finding(results: dict[str, Any], label: str) -> str:
    m = {stream: results[stream][label].mAP for stream in results}
    r1 = {stream: results[stream][label].rank(1) for stream in results}
    m3d_vs_2d = "yes" if m["m3d"] > m["2d"] else "NO"
    best = "yes" if m["two_stream"] > max(m["2d"], m["m3d"]) else "NO"
    gain = 100 * (m["two_stream"] - max(m["2d"], m["m3d"]))
    return (
        f"M3D better than 2D: {m3d_vs_2d} (mAP {100 * (m['m3d'] - m['2d']):+.1f}, "
        f"R1 {100 * (r1['m3d'] - r1['2d']):+.1f}); two-stream best: {best} (mAP {gain:+.1f} over the better stream)"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    # One thread a process (--jobs 2 trains the streams in two processes): a second OpenMP thread would only spin
    # while waiting for a core (measured: 50x slower evaluation when the two cores are busy).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _demo(args)
    finally:
        torch.set_num_threads(threads)


def _demo(args: argparse.Namespace) -> int:
    from m3dreid.cli.evaluate import results_table
    from m3dreid.data.synthetic import make_synthetic
    from m3dreid.errors import prepare_output
    from m3dreid.report import REPORT_FILES, build_report
    from m3dreid.tasks.evaluate import evaluate_run
    from m3dreid.tasks.train import MODEL_FILE, RUN_FILES, assemble_two_stream

    start = time.perf_counter()
    out = Path(args.out)
    configs_dir = _configs_dir(args.configs)
    hint = "it holds an earlier demo: pass --overwrite to train it again (the synthetic data in OUT/data is reused)"
    outputs = {**{stream: RUN_FILES for stream in STREAMS}, "two_stream": (MODEL_FILE, *RUN_FILES)}
    for run, owned in {**outputs, "report": REPORT_FILES}.items():
        prepare_output(out / run, overwrite=args.overwrite, hint=hint.replace("OUT", str(out)), owned=owned)
    timings: dict[str, float] = {}

    data = out / "data"
    if not (data / "info" / "groups.json").is_file():
        make_synthetic(data, size=args.size, seed=args.seed, workers=2)
    else:
        logging.getLogger(__name__).info("reusing the synthetic data in %s", data)
    timings["data"] = time.perf_counter() - start

    configs = {stream: _config(configs_dir, stream, out, args.seed, args.overrides) for stream in STREAMS}
    trained = _train_streams(configs, args.jobs)
    timings["train+eval streams"] = time.perf_counter() - start - timings["data"]

    mark = time.perf_counter()
    two = _config(
        configs_dir,
        "two_stream",
        out,
        args.seed,
        args.overrides,
        spatial_checkpoint=trained["2d"]["checkpoint"],
        temporal_checkpoint=trained["m3d"]["checkpoint"],
    )
    path = assemble_two_stream(two)
    results = {stream: trained[stream]["results"] for stream in STREAMS}
    results["two_stream"] = evaluate_run(two, checkpoint=path, rerank=False)
    timings["two-stream"] = time.perf_counter() - mark

    mark = time.perf_counter()
    page = build_report([out / run for run in (*STREAMS, "two_stream")], out / "report")
    timings["report"] = time.perf_counter() - mark

    label = next(iter(results["2d"]))  # the dataset's own protocol, Euclidean distance
    rows = [(TITLES[run], lab, res[lab]) for run, res in results.items() for lab in res]
    print(results_table(rows))
    print()
    print(_finding(results, label))
    for stream in STREAMS:
        t = trained[stream]
        print(f"{TITLES[stream]}: trained in {t['train_s']:.0f} s (last loss {t['loss']:.3f}, "
              f"accuracy {t['acc']:.3f}), evaluated in {t['eval_s']:.0f} s")  # fmt: skip
    print("timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
          + f"; total {time.perf_counter() - start:.0f} s")  # fmt: skip
    print(f"report: {page}")
    return 0
