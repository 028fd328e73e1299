"""The paper's tables as data: which model and which knobs make each row, and which columns each table has.

A row names a registered model and its builder knobs; the training recipe comes from the table's config set in
``experiments/<table>.yaml``. Rows that need no training of their own (the two-stream fusion, re-ranking) name the
rows whose trained streams they reuse, so one trained network serves every table that has it: the runner caches runs
by their resolved config, and "ResNet50" of Table III is the same run as "n = 0" of Table I.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Claim", "RowSpec", "TableSpec", "TABLES", "get_table", "REAL_DATASETS", "dataset_label", "METRIC_LABELS"]

REAL_DATASETS = ("mars", "duke_video", "prid2011", "ilids_vid")  # the four datasets the paper reports on


def dataset_label(name: str) -> str:
    """The title a dataset was registered with (``m3dreid.data.dataset_info``), for table headers."""
    from m3dreid.data import dataset_info

    return dataset_info(name)["title"]


METRIC_LABELS = MappingProxyType(
    {"mAP": "mAP", "rank1": "R1", "rank5": "R5", "rank10": "R10", "rank20": "R20", "params_mb": "Params (MB)"}
    | {"fps": "Frames/s"}
)


@dataclass(frozen=True)
class RowSpec:
    """One row of a table.

    ``model`` rows are trained (recipe ``2d`` or ``3d`` of the table's config set) with ``kwargs`` given to the
    builder and ``settings`` (``section.key=value``) applied to the config. ``streams`` rows train nothing: they
    concatenate the features of the named rows' trained models (the paper's two-stream fusion).
    """

    key: str  # stable id, used for paper numbers and run folders
    label: str  # as the paper's table writes it
    model: str = ""  # registered model name ('' for a fusion row)
    kwargs: tuple[tuple[str, object], ...] = ()  # builder knobs, e.g. (("local_n", 3),)
    recipe: str = "3d"  # 2d | 3d: the paper trains the 2D CNN with its own recipe
    settings: tuple[str, ...] = ()  # extra config overrides, e.g. ("data.with_flow=true",)
    streams: tuple[str, ...] = ()  # for a fusion row: the keys of the rows whose features are concatenated
    rerank: bool = False  # evaluate with k-reciprocal re-ranking

    @property
    def is_fusion(self) -> bool:
        return bool(self.streams)


@dataclass(frozen=True)
class Claim:
    """An ordering the paper reports: row ``better`` beats every row of ``worse`` (strictly, or ties allowed)."""

    better: str
    worse: tuple[str, ...]
    strict: bool = True

    def text(self) -> str:
        sign = ">" if self.strict else ">="
        return f"{self.better} {sign} " + (self.worse[0] if len(self.worse) == 1 else f"max({', '.join(self.worse)})")


@dataclass(frozen=True)
class TableSpec:
    """A table: rows, per-dataset metric columns, dataset-independent columns (size, speed), and the real datasets."""

    name: str  # table1 ... datasets: the `m3dreid experiment` name
    title: str
    rows: tuple[RowSpec, ...]
    datasets: tuple[str, ...]  # the real datasets of the paper's layout; synthetic replaces them all
    metrics: tuple[str, ...] = ("mAP", "rank1")
    extras: tuple[str, ...] = ()  # params_mb, fps: measured once per row, not per dataset
    claims: tuple[Claim, ...] = ()  # orderings the paper reports, checked over seeds by the writer

    def row(self, key: str) -> RowSpec:
        for row in self.rows + _HELPERS:
            if row.key == key:
                return row
        raise KeyError(f"{self.name}: no row '{key}' (rows: {', '.join(r.key for r in self.rows)})")


_RESNET50 = RowSpec("resnet50", "ResNet50", "resnet50_2d", recipe="2d")
_M3D = RowSpec("m3d", "M3D", "m3d_resnet50")
_TWO_STREAM = RowSpec("two_stream", "Two-stream", streams=("m3d", "resnet50"))
_HELPERS = (_RESNET50, _M3D)


def _branches(model: str, knob: str) -> tuple[RowSpec, ...]:
    zero = RowSpec("n0", "n = 0 (ResNet50)", "resnet50_2d", recipe="2d")
    return (zero, *(RowSpec(f"n{n}", f"n = {n}", model, ((knob, n),)) for n in range(1, 6)))


# Not in the paper: the global layer with a GELU after each dilated branch (layers/global_m3d.py). As Eqs. 9-10 are
# written, a linear temporal convolution followed by temporal average pooling sees frame order only through the clip's
# two ends, so the paper's global layer cannot learn a cue that lives in the order of the frames inside the clip (the
# synthetic rhythm groups: measured 21-23 mAP, as the 2D model). These rows show what the layer gains when it can.
_GELU = ("global_act", "gelu")
_GLOBAL_GELU = RowSpec("global_m3d_gelu", "Global M3D + GELU (ours)", "global_m3d_resnet50", (_GELU,))
_M3D_GELU = RowSpec("m3d_gelu", "M3D + GELU global (ours)", "m3d_resnet50", (_GELU,))
_TWO_STREAM_GELU = RowSpec("two_stream_gelu", "Two-stream + GELU global (ours)", streams=("m3d_gelu", "resnet50"))


TABLES: MappingProxyType = MappingProxyType(
    {
        "table1": TableSpec(
            "table1",
            "Influence of the temporal branch number n in the local M3D layer (temporal stream alone)",
            _branches("local_m3d_resnet50", "local_n"),
            ("mars", "duke_video"),
            claims=(Claim("n1", ("n0",)), Claim("n3", ("n0",))),
        ),
        "table2": TableSpec(
            "table2",
            "Influence of the temporal branch number n in the global M3D layer (temporal stream alone)",
            (*_branches("global_m3d_resnet50", "global_n"), _GLOBAL_GELU),
            ("mars", "duke_video"),
            claims=(Claim("n1", ("n0",)), Claim("n3", ("n0",)), Claim("global_m3d_gelu", ("n0",))),
        ),
        "table3": TableSpec(
            "table3",
            "Evaluation of the individual components of M3D",
            (
                _RESNET50,
                RowSpec("local_m3d", "Local M3D", "local_m3d_resnet50", (("local_n", 3),)),
                RowSpec("global_m3d", "Global M3D", "global_m3d_resnet50", (("global_n", 3),)),
                RowSpec("m3d", "M3D (local + global)", "m3d_resnet50"),
                _TWO_STREAM,
                _GLOBAL_GELU,
                _M3D_GELU,
                _TWO_STREAM_GELU,
            ),
            ("mars", "duke_video"),
            claims=(
                Claim("local_m3d", ("resnet50",)),
                Claim("global_m3d", ("resnet50",)),
                Claim("m3d", ("local_m3d", "global_m3d"), strict=False),
                Claim("two_stream", ("resnet50", "local_m3d", "global_m3d", "m3d")),
                # the same orderings with the GELU global layer in place of the paper's linear one
                Claim("global_m3d_gelu", ("resnet50",)),
                Claim("m3d_gelu", ("local_m3d", "global_m3d_gelu"), strict=False),
                Claim("two_stream_gelu", ("resnet50", "local_m3d", "global_m3d_gelu", "m3d_gelu")),
            ),
        ),
        "table4": TableSpec(
            "table4",
            "Comparison with 3D CNNs on MARS: accuracy, parameters and speed",
            (
                _RESNET50,
                RowSpec("i3d", "I3D", "i3d_resnet50"),
                RowSpec("p3d_a", "P3D-A", "p3d_a_resnet50"),
                RowSpec("p3d_b", "P3D-B", "p3d_b_resnet50"),
                RowSpec("p3d_c", "P3D-C", "p3d_c_resnet50"),
                _M3D,
                _M3D_GELU,
            ),
            ("mars",),
            extras=("params_mb", "fps"),
            claims=(
                Claim("m3d", ("resnet50", "i3d", "p3d_a", "p3d_b", "p3d_c")),
                Claim("m3d_gelu", ("resnet50", "i3d", "p3d_a", "p3d_b", "p3d_c")),
            ),
        ),
        "table5": TableSpec(
            "table5",
            "Comparison with other temporal feature learning methods on MARS",
            (
                _RESNET50,
                RowSpec("lstm", "LSTM", "lstm_resnet50"),
                RowSpec(
                    "flow_two_stream",
                    "A&O two-stream (optical flow)",
                    "flow_two_stream_resnet50",
                    settings=("data.with_flow=true",),
                ),
                RowSpec("attention", "Temporal attention", "attention_resnet50"),
                _M3D,
                RowSpec("all_local_m3d", "All-local M3D", "all_local_m3d_resnet50"),
                _M3D_GELU,
            ),
            ("mars",),
            extras=("params_mb",),
            claims=(
                Claim("m3d", ("resnet50", "lstm", "flow_two_stream")),
                Claim("m3d_gelu", ("resnet50", "lstm", "flow_two_stream")),
            ),
        ),
        "datasets": TableSpec(
            "datasets",
            "Comparison on the four datasets (PRID2011 and iLIDS-VID averaged over their 10 splits)",
            (
                _RESNET50,
                _M3D,
                _TWO_STREAM,
                RowSpec("two_stream_rerank", "Two-stream + re-ranking", streams=("m3d", "resnet50"), rerank=True),
            ),
            REAL_DATASETS,
            metrics=("mAP", "rank1", "rank5", "rank20"),
            claims=(Claim("two_stream", ("resnet50", "m3d")),),
        ),
    }
)


def get_table(name: str) -> TableSpec:
    if name not in TABLES:
        raise KeyError(f"unknown table '{name}'; known tables: {', '.join(TABLES)}")
    return TABLES[name]
