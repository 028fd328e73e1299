"""``docs/results.md``: every table on the synthetic data (and on real data where results exist), with plots.

The page is generated, never typed: ``m3dreid experiment docs --out docs`` runs (or reuses, from the run cache) every
table on the synthetic set, writes one bar plot per table and the saliency figure of Table III's 2D and M3D runs, and
records the command, seeds, machine and time it took.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from m3dreid.experiments.configset import ConfigSet
from m3dreid.experiments.runner import load_result, run_table
from m3dreid.experiments.tables import REAL_DATASETS, TABLES, TableSpec
from m3dreid.experiments.writer import claims_markdown, format_cell, table_markdown

__all__ = ["write_results_page", "plot_table", "kind_markdown"]

log = logging.getLogger(__name__)


def plot_table(spec: TableSpec, result: dict, path: Path, *, metrics: Sequence[str] = ("mAP", "rank1")) -> Path:
    """Grouped bars (one group per row, one bar per metric), mean over seeds with a std error bar and seed dots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in spec.rows if r.key in result["cells"]]
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(rows), 3.2), dpi=110)
    width = 0.8 / len(metrics)
    for m, metric in enumerate(metrics):
        vals = [np.asarray(result["cells"][r.key][metric], dtype=float) for r in rows]
        x = np.arange(len(rows)) + (m - (len(metrics) - 1) / 2) * width
        std = [v.std(ddof=1) if len(v) > 1 else 0.0 for v in vals]
        ax.bar(x, [v.mean() for v in vals], width, yerr=std, capsize=3, label=metric, alpha=0.8)
        for xi, v in zip(x, vals, strict=True):
            ax.plot(np.full(len(v), xi), v, "k.", markersize=3)
    ax.set_xticks(np.arange(len(rows)), [r.label for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("%")
    ax.set_title(f"{spec.name}: synthetic, {len(result['seeds'])} seeds (mean ± std, dots = seeds)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def kind_markdown(spec: TableSpec, result: dict) -> str:
    """Synthetic: mAP per identity kind for each trained row (mean ± std over seeds), from the saved features."""
    from m3dreid.data.synthetic import KINDS
    from m3dreid.experiments import backend

    header = "| Method | " + " | ".join(f"{kind} groups mAP" for kind in KINDS) + " |"
    lines = [header, "|" + " --- |" * (1 + len(KINDS))]
    for row in spec.rows:
        runs = result.get("run_dirs", {}).get(row.key)
        if not runs:
            continue
        per_seed = [backend.per_kind_ap(Path(run), Path(result["root"])) for run in runs]
        cells = [format_cell([p[k] for p in per_seed if k in p]) for k in KINDS]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def _seeds_text(results: dict[str, dict]) -> str:
    """'seeds [0, 1, 2]' when every table ran the same seeds, else the seeds of each table."""
    per_table = {name: sorted(result["seeds"]) for name, result in results.items()}
    if len({tuple(seeds) for seeds in per_table.values()}) <= 1:
        return f"seeds {next(iter(per_table.values()), [])}"
    return "seeds " + ", ".join(f"{name} {seeds}" for name, seeds in per_table.items())


CLAIMS_INTRO = (
    "Orderings the paper reports, checked on the mean over seeds and per seed (margin = the row minus the best "
    "of the rows it is compared with, paired by seed; '... A vs B' lines compare with each row alone):"
)


def budget_text(spec: TableSpec, config_set: ConfigSet, size: str) -> str:
    """'Training: ...' with the optimiser steps of the table's 2D and other rows at ``size``, and their recipe files."""
    from m3dreid.config import load_config

    budgets = {}
    for kind in ("2d", "3d"):
        rows = [row for row in spec.rows if not row.is_fusion and row.recipe == kind]
        if rows:
            recipe = config_set.recipe(rows[0], data="synthetic", size=size)
            train = load_config(recipe).train
            where = "/".join(recipe.parts[-3:])  # experiments/recipes/<file>
            budgets[kind] = f"{train.epochs * train.iters_per_epoch:,} steps ({where})"
    if len(set(budgets.values())) == 1:
        return f"Training: every row {next(iter(budgets.values()))}."
    return "Training: " + ", ".join(f"{'2D' if k == '2d' else 'temporal'} rows {v}" for k, v in budgets.items()) + "."


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def write_results_page(
    *,
    config_sets: dict[str, ConfigSet],
    out: Path,
    work: Path,
    size: str,
    seeds: Sequence[int] | None,
    command: str,
    tables: Sequence[str] = tuple(TABLES),
    saliency: Callable[[Path, dict], tuple[Path, dict[str, dict[str, list[float]]]] | None] | None = None,
    workers: int = 1,
    root: Path | None = None,
) -> Path:
    """Run every table on the synthetic data (cached in ``work``) and write ``out/results.md`` with its figures.

    ``root``: the synthetic dataset folder (default: generated under ``work/data``).
    """
    start = time.perf_counter()
    figures = out / "results"
    sections: list[str] = []
    timings: list[str] = []
    results: dict[str, dict] = {}
    for name in tables:
        spec = TABLES[name]
        t0 = time.perf_counter()
        result = run_table(
            spec, config_sets[name], data="synthetic", root=root, out=work, size=size, seeds=seeds, workers=workers
        )
        results[name] = result
        timings.append(
            f"{name}: {_minutes(result['compute_seconds'])} of training + evaluation summed over its runs "
            f"({_minutes(time.perf_counter() - t0)} in this call)"
        )
        plot = plot_table(spec, result, figures / f"{name}_synthetic.png")
        part = [f"## {name}: {spec.title}", "", budget_text(spec, config_sets[name], size), ""]
        part += [table_markdown(spec, {"synthetic": result}, synthetic=True)]
        claims = claims_markdown(spec, result)
        if claims:
            part += [CLAIMS_INTRO, ""]
            part += [claims]
        kinds = kind_markdown(spec, result)
        if kinds:
            part += ["mAP per kind of synthetic identity group (motion and rhythm groups need temporal cues):", ""]
            part += [kinds]
        part += [f"![{name}](results/{plot.name})", ""]
        real = {d: r for d in REAL_DATASETS if (r := load_result(work, name, d))}
        if real:
            part += ["Real data (runs found in the work folder):", "", table_markdown(spec, real, synthetic=False)]
        sections.append("\n".join(part))
    saliency_part = ""
    drawn = saliency(figures, results) if saliency is not None else None
    if drawn is not None:
        figure, values = drawn
        seeds = len(next(iter(values.values()))["lower_share"])

        def listing(score: str) -> str:
            return ", ".join(f"{name} {format_cell(v[score], digits=3)}" for name, v in values.items())

        saliency_part = (
            "## Saliency (Fig. 8): where the 2D and the M3D models look\n\n"
            "Gradient of the feature norm with respect to the input frames, Table III's seed-0 runs (rows: frames, "
            "then one model each, in the order below) on synthetic test tracklets (page: "
            "`results/saliency/index.html`). Two numbers for the paper's reading of Fig. 8 (2D looks at the upper "
            f"body, M3D at the moving legs and arms), each the mean over the same query clips, mean ± std over the "
            f"{seeds} seeds' runs of Table III. Motion overlap, the correlation between a model's saliency and the "
            f"per-pixel temporal change of the clip: {listing('motion_overlap')}; the temporal change includes the "
            "background scrolling behind a walking person, so it is a coarse proxy. Lower share, the fraction of the "
            f"saliency in the lower half of the frame (the legs): {listing('lower_share')}.\n\n"
            f"![saliency](results/saliency/{figure.name})\n"
        )
    total = time.perf_counter() - start
    head = [
        "# Results",
        "",
        f"Generated by `{command}`; do not edit by hand.",
        "",
        f"Synthetic data, size `{size}`, {_seeds_text(results)}; "
        f"every cell is mean ± std over seeds (sample std). Cost: {'; '.join(timings)}. Runs are cached and shared "
        f"between tables, so a rerun is fast; this call took {_minutes(total)}.",
        "The synthetic numbers are not comparable to the paper's MARS numbers: only the ordering of rows is.",
        "",
    ]
    missing = [name for name in TABLES if name not in tables]
    if missing:
        head.insert(-1, f"Not generated in this run: {', '.join(missing)} (run the command without `--tables`).")
    path = out / "results.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([*head, *sections, saliency_part]).rstrip() + "\n")
    log.info("wrote %s in %s", path, _minutes(total))
    return path
