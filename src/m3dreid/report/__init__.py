"""m3dreid.report: the run-folder layout (results.json, train_log.csv, features.npz) and the HTML + PNG report."""

from m3dreid.report.page import REPORT_FILES, build_report, results_markdown
from m3dreid.report.runs import (
    CONFIG_FILE,
    FEATURES_FILE,
    RESULTS_FILE,
    TRAIN_LOG_FILE,
    RunData,
    read_results,
    read_run,
    read_train_log,
    write_results,
)

__all__ = [
    "REPORT_FILES",
    "build_report",
    "results_markdown",
    "CONFIG_FILE",
    "FEATURES_FILE",
    "RESULTS_FILE",
    "TRAIN_LOG_FILE",
    "RunData",
    "read_results",
    "read_run",
    "read_train_log",
    "write_results",
]
