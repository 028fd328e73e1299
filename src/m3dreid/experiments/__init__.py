"""The paper's tables as runnable experiments: table definitions, paper numbers, runner, writers, saliency maps."""

from m3dreid.experiments.configset import ConfigSet, config_key, default_experiments_dir, load_config_set, row_config
from m3dreid.experiments.docs import plot_table, write_results_page
from m3dreid.experiments.paper import NOT_IN_TEXT, PAPER_VALUES, PaperValue, paper_value
from m3dreid.experiments.runner import load_result, run_table
from m3dreid.experiments.saliency import lower_share, motion_energy, motion_overlap, saliency_maps, write_saliency_page
from m3dreid.experiments.saliency_report import saliency_for_docs, saliency_for_runs
from m3dreid.experiments.tables import TABLES, Claim, RowSpec, TableSpec, get_table
from m3dreid.experiments.writer import claims_markdown, format_cell, table_markdown, write_table_files

__all__ = [
    "ConfigSet",
    "config_key",
    "default_experiments_dir",
    "load_config_set",
    "row_config",
    "plot_table",
    "write_results_page",
    "NOT_IN_TEXT",
    "PAPER_VALUES",
    "PaperValue",
    "paper_value",
    "load_result",
    "run_table",
    "motion_energy",
    "motion_overlap",
    "lower_share",
    "saliency_maps",
    "write_saliency_page",
    "saliency_for_docs",
    "saliency_for_runs",
    "TABLES",
    "Claim",
    "RowSpec",
    "TableSpec",
    "get_table",
    "claims_markdown",
    "format_cell",
    "table_markdown",
    "write_table_files",
]
