"""Evaluation: transfer contexts, the method registry, the protocol and the benchmark."""

from spektron.evaluation.benchmark import RECORD_KEYS, parse_pairs, run_benchmark, summary_markdown, write_results
from spektron.evaluation.context import ModelCache, TransferContext
from spektron.evaluation.metrics import bias, r2, regression_metrics, rmsep, sep
from spektron.evaluation.protocol import ProtocolSplit, make_split
from spektron.evaluation.registry import available_methods, get_method, register_method
from spektron.evaluation.splits import calibration_test_split, kennard_stone, select_transfer

__all__ = [
    "RECORD_KEYS",
    "ModelCache",
    "ProtocolSplit",
    "TransferContext",
    "available_methods",
    "bias",
    "calibration_test_split",
    "get_method",
    "kennard_stone",
    "make_split",
    "parse_pairs",
    "r2",
    "register_method",
    "regression_metrics",
    "rmsep",
    "run_benchmark",
    "select_transfer",
    "sep",
    "summary_markdown",
    "write_results",
]
