"""Evaluation: the protocol (splits, transfer selection), metrics and the benchmark.

The methods it evaluates, their context and their registry live in :mod:`spektron.methods`.
"""

from spektron.evaluation.benchmark import parse_pairs, run_benchmark
from spektron.evaluation.records import RECORD_KEYS, summarise
from spektron.evaluation.results import summary_markdown, summary_tables, write_results
from spektron.evaluation.metrics import bias, r2, regression_metrics, rmsep, sep
from spektron.evaluation.protocol import ProtocolSplit, make_split
from spektron.evaluation.splits import calibration_test_split, kennard_stone, select_transfer

__all__ = [
    "RECORD_KEYS",
    "ProtocolSplit",
    "bias",
    "calibration_test_split",
    "kennard_stone",
    "make_split",
    "parse_pairs",
    "r2",
    "regression_metrics",
    "rmsep",
    "run_benchmark",
    "select_transfer",
    "sep",
    "summarise",
    "summary_markdown",
    "summary_tables",
    "write_results",
]
