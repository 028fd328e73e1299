"""``m3dreid report``: one HTML page (``index.html``) with PNGs beside it, from one or more run folders.

The page has the results table (every run x result label), the CMC curves of all runs on one plot, each run's
training curves, and ranked lists for a few queries (evenly spaced through the query list, so the same queries
appear for every run of a dataset). Parts a run cannot provide (no log, no features, frames gone) are skipped with
a note, never faked.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from m3dreid.report.runs import RunData, read_run
from m3dreid.utils.io import atomic_write_text

__all__ = ["TABLE_COLUMNS", "results_rows", "results_markdown", "build_report"]

log = logging.getLogger(__name__)

TABLE_COLUMNS = ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP")


def _pct(value) -> str:
    return f"{100 * value:.1f}" if isinstance(value, int | float) and value == value else "-"


def results_rows(runs: Sequence[RunData]) -> list[list[str]]:
    """Table rows: run, label, rank-1/5/10/20 and mAP / mINP in percent, queries (valid / without a match), AP."""
    rows = []
    for run in runs:
        for label, entry in run.results.items():
            counts = f"{entry.get('num_valid_queries', '-')}/{entry.get('num_no_match', '-')}"
            cells = [_pct(entry.get(c)) for c in TABLE_COLUMNS]
            rows.append([run.name, label, *cells, counts, str(entry.get("ap_definition", "-"))])
    return rows


_HEADER = ["run", "result", "R1", "R5", "R10", "R20", "mAP", "mINP", "queries valid/no match", "AP"]


def results_markdown(runs: Sequence[RunData]) -> str:
    """The results table as markdown (what ``m3dreid report`` and the demo print)."""
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in results_rows(runs)]
    return "\n".join(lines)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"


def _ranked_section(run: RunData, out: Path, slug: str, num_queries: int, top_k: int) -> str:
    from m3dreid.evaluation.features import load_features
    from m3dreid.report.ranked import ranked_list_image

    if run.features_path is None:
        return "<p>No <code>features.npz</code> in this run: no ranked lists.</p>"
    try:
        features = load_features(run.features_path)
    except (OSError, ValueError) as err:
        return f"<p>Could not read the features: {html.escape(str(err))}</p>"
    num_q = len(features.q_pids)
    if num_q == 0 or len(features.g_pids) == 0:
        return "<p>The feature file has no queries or no gallery.</p>"
    existing = [p for p in features.q_paths.reshape(-1)[:200] if p and Path(p).is_file()]
    if not existing:
        return "<p>The frames named in <code>features.npz</code> are not on disk here: no ranked lists.</p>"
    queries = sorted(set(np.linspace(0, num_q - 1, num=min(num_queries, num_q)).round().astype(int).tolist()))
    name = f"ranked_{slug}.png"
    metric = str(features.meta.get("metric", "euclidean"))
    ranked_list_image(features, queries, out / name, top_k=top_k, metric=metric)
    note = f"queries {', '.join(map(str, queries))}; top {top_k} of the gallery ({metric} distance, junk left out)"
    return f'<p>{html.escape(note)}; green = same identity, red = other.</p><img src="{name}" alt="ranked lists">'


REPORT_FILES = ("index.html", "cmc.png", "train_*.png", "ranked_*.png")  # what build_report writes in its folder


def build_report(run_dirs: Sequence[str | Path], out_dir: str | Path, *, num_queries: int = 4, top_k: int = 10) -> Path:
    """Write ``out_dir/index.html`` and its PNGs; returns the page's path."""
    from m3dreid.report.figures import plot_cmc, plot_training

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [read_run(d) for d in run_dirs]
    slugs, seen = [], set()
    for run in runs:  # unique file names even when two runs share a name
        slug, n = _slug(run.name), 1
        while slug in seen:
            n += 1
            slug = f"{_slug(run.name)}_{n}"
        seen.add(slug)
        slugs.append(slug)

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>m3dreid report</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}td:first-child,td:nth-child(2)"
        "{text-align:left}img{max-width:100%}</style></head><body><h1>m3dreid report</h1>",
    ]
    parts.append("<h2>Results</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in _HEADER) + "</tr>")
    for row in results_rows(runs):
        parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    parts.append(
        "</table><p>Percent. Averages are over queries with a valid gallery match; queries without one "
        "are counted in the last-but-one column.</p>"
    )
    cmc = plot_cmc(runs, out / "cmc.png")
    parts.append('<h2>CMC</h2><img src="cmc.png" alt="CMC curves">' if cmc else "<h2>CMC</h2><p>No results.</p>")
    for run, slug in zip(runs, slugs, strict=True):
        model = run.config.get("model", {}).get("name", "") if isinstance(run.config.get("model"), dict) else ""
        dataset = run.config.get("data", {}).get("dataset", "") if isinstance(run.config.get("data"), dict) else ""
        parts.append(
            f"<h2>{html.escape(run.name)}</h2><p><code>{html.escape(str(run.path))}</code>"
            + (f" &middot; model {html.escape(model)}" if model else "")
            + (f" &middot; dataset {html.escape(dataset)}" if dataset else "")
            + "</p>"
        )
        curves = plot_training(run, out / f"train_{slug}.png")
        parts.append(
            f'<h3>Training</h3><img src="train_{slug}.png" alt="training curves">'
            if curves
            else "<h3>Training</h3><p>No <code>train_log.csv</code> in this run.</p>"
        )
        parts.append("<h3>Ranked lists</h3>" + _ranked_section(run, out, slug, num_queries, top_k))
    parts.append("</body></html>\n")
    page = out / "index.html"
    atomic_write_text(page, "\n".join(parts))
    log.info("report of %d run(s) written to %s", len(runs), page)
    return page
