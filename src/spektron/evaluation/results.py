"""What a benchmark's records say: method × k tables, ``summary.md``, the files of a run.

Reads records (:mod:`spektron.evaluation.records`), never runs anything: a results
folder written by ``spektron benchmark`` can be summarised again, and the report
renders the same tables.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from spektron.evaluation.plots import plot_rmsep_vs_k
from spektron.evaluation.protocol import SPLITS, describe_split, describe_unlabelled
from spektron.evaluation.records import RECORD_KEYS, by_split, summarise
from spektron.evaluation.standing import split_comparison_markdown, standing_markdown
from spektron.run_layout import RESULTS_CSV, RESULTS_JSON, SUMMARY

__all__ = ["summary_markdown", "summary_tables", "write_results"]


def _cell(s: dict) -> str:
    """``RMSEP / R²`` of one summary cell; ``failed`` (or a count of failed repeats)."""
    if s["n"] == 0:
        return "failed"
    text = f"{_fmt(s['rmsep'], s['rmsep_sd'], 3)} / {_fmt(s['r2'], s['r2_sd'], 3)}"
    return text + (f" ({s['n_failed']} failed)" if s.get("n_failed") else "")


def _fmt(mean: float, sd: float, digits: int) -> str:
    if np.isnan(sd):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def summary_tables(records: list[dict]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) per pair and property: method × k, RMSEP and R²."""
    stats = summarise(records)
    methods = list(dict.fromkeys(r["method"] for r in records))
    ks = sorted({r["k"] for r in records})
    blocks = list(dict.fromkeys((r["master"], r["target"], r["property"]) for r in records))
    tables = []
    for master, target, prop in blocks:
        n = max(s["n"] + s["n_failed"] for (a, b, p, _, _), s in stats.items() if (a, b, p) == (master, target, prop))
        title = f"{master} → {target}, {prop} (RMSEP / R², mean ± sd over {n} repeat{'s' if n > 1 else ''})"
        header = ["method"] + [f"k={k}" for k in ks]
        rows = []
        for m in methods:
            row = [m if m != "target" else "target (bound)"]
            for k in ks:
                s = stats.get((master, target, prop, m, k))
                row.append("—" if s is None else _cell(s))
            rows.append(row)
        tables.append((title, header, rows))
    return tables


def summary_markdown(records: list[dict], notes: Sequence[str] = (), command: str | None = None) -> str:
    """``summary.md``: one method × k table per pair and property; with several splits, the
    method's standing on each side by side first, then each split's own tables."""
    lines = ["# Calibration-transfer benchmark", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    if records:
        sel = sorted({r["selection"] for r in records})
        spl = sorted({r.get("split", "?") for r in records})
        unl = sorted({r.get("unlabelled", "calibration") for r in records})
        lines += [f"Split: {', '.join(spl)}; transfer selection: {', '.join(sel)}. Cells: RMSEP / R² on the test set. "
                  "`target (bound)` is a PLS calibrated on the target's own calibration set — the error no transfer can beat.", "",
                  "Unlabelled target spectra (k = 0 methods, test-time training): "
                  + "; ".join(describe_unlabelled(u) for u in unl) + ".", ""]
        for split in spl:
            if split in SPLITS:
                lines.append(f"- `{split}`: {describe_split(split)}.")
        lines.append("")
    for note in notes:
        lines.append(f"> Note: {note}")
    if notes:
        lines.append("")
    parts = by_split(records)
    if len(parts) > 1 and any(r["method"] == "spektron" for r in records):
        lines.append(split_comparison_markdown(records))
    for split, recs in parts.items():
        prefix = f"{split}: " if len(parts) > 1 else ""
        if len(parts) > 1:
            lines += [f"# Split `{split}`", ""]
        for title, header, rows in summary_tables(recs):
            lines += [f"## {prefix}{title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
        if any(r["method"] == "spektron" for r in recs):
            lines.append(standing_markdown(recs))
    return "\n".join(lines)


def write_results(
    records: list[dict],
    out_dir: str | Path,
    notes: Sequence[str] = (),
    command: str | None = None,
    property_units: dict[str, str] | None = None,
    plots: bool = True,
) -> dict[str, list[Path]]:
    """Write results.json, results.csv, summary.md and the plots; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, list[Path]] = {}
    (out / RESULTS_JSON).write_text(json.dumps(records, indent=1))
    per_row = ("y_pred", "y_true", "test_rows")  # lists: in results.json only
    keys = list(RECORD_KEYS) + list(dict.fromkeys(k for rec in records for k in rec
                                                  if k not in RECORD_KEYS and k not in per_row))
    with open(out / RESULTS_CSV, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    (out / SUMMARY).write_text(summary_markdown(records, notes, command))
    paths["tables"] = [out / RESULTS_JSON, out / RESULTS_CSV, out / SUMMARY]
    if plots and records:
        parts = by_split(records)
        paths["plots"] = [path for split, recs in parts.items()
                          for path in plot_rmsep_vs_k(recs, out, property_units=property_units,
                                                      tag=split if len(parts) > 1 else "")]
    return paths
