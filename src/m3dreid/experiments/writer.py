"""Markdown tables in the paper's layout: our mean +- std over seeds beside the paper's number for the cell.

Real-data tables put every dataset of the paper's layout side by side (a dataset not run yet shows "not run") and
each cell reads ``ours (paper X)``. Synthetic tables have one synthetic column group plus the paper's MARS figures for
reference: the synthetic numbers are not comparable to MARS, the ordering of the rows is what they test. Claims (the
orderings the paper reports) are checked per seed, paired: the margin of a seed is the better row minus the best of
the other rows on the same seed, so the spread shown is the spread of the margin, not of each row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from m3dreid.experiments.paper import NOT_IN_TEXT, PAPER_NOTES, PAPER_TABLE_NAMES, paper_value
from m3dreid.experiments.tables import METRIC_LABELS, Claim, TableSpec, dataset_label

__all__ = [
    "format_cell",
    "paper_cell",
    "table_markdown",
    "claims_markdown",
    "claim_margins",
    "is_missing",
    "write_table_files",
    "NOT_RUN",
    "NA",
]

NOT_RUN = "not run"
NA = "n/e"  # short form of NOT_IN_TEXT inside the tables; the legend spells it out
_EXTRA_LABELS = {"params_mb": "Params (MB)", "params_mb_full": "Params, full size (MB)", "fps": "Frames/s"}


def format_cell(values: Sequence[float] | None, digits: int = 1) -> str:
    """``mean ± std`` over seeds (sample std, n-1), or the single value; NaN cells say so."""
    if values is None or len(values) == 0:
        return NOT_RUN
    arr = np.asarray(values, dtype=float)
    if np.isnan(arr).any():
        return "nan"
    if len(arr) == 1:
        return f"{arr[0]:.{digits}f}"
    return f"{arr.mean():.{digits}f} ± {arr.std(ddof=1):.{digits}f}"


def paper_cell(table: str, dataset: str, row: str, metric: str) -> str:
    value = paper_value(table, dataset, row, metric)
    if value is None:
        return NA
    text = f"{value.value:g}"
    return text + "*" if value.derived else text


def _row_line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_markdown(spec: TableSpec, results: Mapping[str, dict], *, synthetic: bool) -> str:
    """The table of ``spec``; ``results`` maps a dataset name to its runner result (synthetic: one entry)."""
    datasets = ("synthetic",) if synthetic else spec.datasets
    paper_sets = spec.datasets[:1] if synthetic else ()
    extras = [e for x in spec.extras for e in ((x, "params_mb_full") if synthetic and x == "params_mb" else (x,))]
    header = ["Method"]
    header += [f"{dataset_label(d)} {METRIC_LABELS[m]}" for d in datasets for m in spec.metrics]
    header += [_EXTRA_LABELS[e] for e in extras]
    header += [f"Paper {dataset_label(d)} {METRIC_LABELS[m]}" for d in paper_sets for m in spec.metrics]
    if synthetic:
        header += [f"Paper {_EXTRA_LABELS[e]}" for e in spec.extras]
    lines = [_row_line(header), _row_line(["---"] * len(header))]
    extras_source = next((r for r in (results.get(d) for d in datasets) if r), None)
    for row in spec.rows:
        cells = [row.label]
        for dataset in datasets:
            result = results.get(dataset)
            row_values = (result or {}).get("cells", {}).get(row.key)
            for metric in spec.metrics:
                ours = format_cell(row_values.get(metric) if row_values else None)
                if not synthetic:
                    ours = f"{ours} (paper {paper_cell(spec.name, dataset, row.key, metric)})"
                cells.append(ours)
        for extra in extras:
            stats = (extras_source or {}).get("extras", {}).get(row.key)
            value = stats.get(extra) if stats else None
            text = "-" if row.is_fusion else (NOT_RUN if value is None else f"{value:.1f}")
            if not synthetic and extra in spec.extras and not row.is_fusion:
                text = f"{text} (paper {paper_cell(spec.name, spec.datasets[0], row.key, extra)})"
            cells.append(text)
        cells += [paper_cell(spec.name, d, row.key, m) for d in paper_sets for m in spec.metrics]
        if synthetic:
            cells += [paper_cell(spec.name, spec.datasets[0], row.key, e) for e in spec.extras]
        lines.append(_row_line(cells))
    legend = f"{NA}: {NOT_IN_TEXT} of the paper; *: derived from a difference the text states (see paper.py)."
    notes = [f"Paper: {PAPER_TABLE_NAMES[spec.name]}. {legend}", *PAPER_NOTES.get(spec.name, ())]
    return "\n".join([*lines, "", *(f"- {n}" for n in notes)]) + "\n"


def write_table_files(spec: TableSpec, out: str | Path, *, data: str) -> Path:
    """``<out>/<table>_<data>.md`` from the results in ``out``: synthetic alone, or every real dataset run so far."""
    from m3dreid.experiments.runner import load_result

    out = Path(out)
    synthetic = data == "synthetic"
    names = ("synthetic",) if synthetic else spec.datasets
    results = {d: r for d in names if (r := load_result(out, spec.name, d))}
    text = f"# {spec.name}: {spec.title}\n\n" + table_markdown(spec, results, synthetic=synthetic)
    for dataset, result in results.items():
        claims = claims_markdown(spec, result)
        if claims:
            text += (
                f"\nOrderings the paper reports, {dataset_label(dataset)}, on the seed mean and per seed:\n\n{claims}"
            )
        text += (
            f"\n{dataset_label(dataset)}: seeds {result['seeds']}, splits {result['splits']}, {result['device']}, "
            f"{result['compute_seconds'] / 60:.1f} min of training and evaluation.\n"
        )
    path = out / f"{spec.name}_{'synthetic' if synthetic else 'real'}.md"
    path.write_text(text)
    return path


def claim_margins(claim: Claim, cells: Mapping[str, Mapping[str, Sequence[float]]], metric: str) -> np.ndarray | None:
    """Per-seed margin of ``claim`` on ``metric``: better minus the best of the others, paired by seed."""
    if claim.better not in cells or any(w not in cells for w in claim.worse):
        return None
    better = np.asarray(cells[claim.better][metric], dtype=float)
    worse = np.max(np.stack([np.asarray(cells[w][metric], dtype=float) for w in claim.worse]), axis=0)
    return better - worse


def _claim_line(text: str, metric: str, margins: np.ndarray, on_mean: float, strict: bool) -> str:
    def holds(value) -> np.ndarray:
        return value > 0 if strict else value >= 0

    spread = format_cell(list(margins), digits=2)
    lo, hi = float(np.min(margins)), float(np.max(margins))
    on_mean_text = f"{'yes' if holds(on_mean) else 'no'} ({on_mean:+.2f})"
    seeds = f"{int(np.sum(holds(margins)))}/{len(margins)}"
    return _row_line([text, METRIC_LABELS[metric], on_mean_text, seeds, spread, f"{lo:+.2f} .. {hi:+.2f}"])


def claims_markdown(spec: TableSpec, result: dict, *, metrics: Sequence[str] = ("mAP", "rank1")) -> str:
    """One line per claim and metric: does it hold on the mean over seeds, in how many seeds, the per-seed margin.

    A claim against several rows (``m3d >= max(local, global)``) also gets one line per compared row, so that a
    miss says which row it lost to.
    """
    header = ["Claim (paper)", "Metric", "Holds on the seed mean", "Holds in seeds", "Margin mean ± std"]
    lines = [_row_line([*header, "Margin min .. max"]), _row_line(["---"] * 6)]
    cells = result["cells"]
    for claim in spec.claims:
        for metric in metrics:
            margins = claim_margins(claim, cells, metric)
            if margins is None:
                continue
            on_mean = float(np.mean(cells[claim.better][metric])) - max(np.mean(cells[w][metric]) for w in claim.worse)
            lines.append(_claim_line(claim.text(), metric, margins, on_mean, claim.strict))
            if len(claim.worse) > 1:
                for worse in claim.worse:
                    paired = claim_margins(Claim(claim.better, (worse,), claim.strict), cells, metric)
                    text = f"... {claim.better} vs {worse}"
                    lines.append(_claim_line(text, metric, paired, float(paired.mean()), claim.strict))
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def is_missing(text: str) -> bool:
    """True for a cell that holds no number (used by the tests: no cell may be missing)."""
    return text.startswith(NOT_RUN) or text.startswith("nan")
