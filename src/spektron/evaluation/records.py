"""Benchmark records: the keys every record carries, and their mean and spread per cell.

A record is one method on one cell (repeat, pair, property, k) of a benchmark run, as
:func:`spektron.evaluation.benchmark.run_benchmark` returns and ``results.json``
stores; everything that reads results (tables, standing, plots, the report) starts here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

__all__ = ["RECORD_KEYS", "summarise", "by_split"]

RECORD_KEYS = ("method", "master", "target", "property", "k", "selection", "repeat", "rmsep", "r2", "bias", "sep", "n_test")


def summarise(records: list[dict]) -> dict[tuple, dict]:
    """Mean and sd of RMSEP, R², bias, SEP per (master, target, property, method, k), over
    the records that did not fail (``n``; ``n_failed`` counts the others)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for rec in records:
        groups[(rec["master"], rec["target"], rec["property"], rec["method"], rec["k"])].append(rec)
    out = {}
    for key, recs in groups.items():
        ok = [r for r in recs if "error" not in r]
        row = {"n": len(ok), "n_failed": len(recs) - len(ok)}
        for metric in ("rmsep", "r2", "bias", "sep"):
            v = np.array([r[metric] for r in ok], dtype=float)
            row[metric] = float(np.mean(v)) if v.size else float("nan")
            row[metric + "_sd"] = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
        out[key] = row
    return out


def by_split(records: Sequence[dict]) -> dict[str, list[dict]]:
    """The records of each split of a run, in the order they ran."""
    out: dict[str, list[dict]] = {}
    for rec in records:
        out.setdefault(rec.get("split", "?"), []).append(rec)
    return out
