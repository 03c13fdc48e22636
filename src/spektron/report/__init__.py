"""Run reports: figures, verdicts and one self-contained HTML page (``spektron report``).

``write_report(run_dir)`` reads a run directory (layout in :mod:`spektron.report.run`)
and writes ``report.html`` with its PNGs; :mod:`spektron.report.verdict` holds the
pass/fail rules the report and ``spektron check`` share.
"""

from spektron.report.html import Report, write_report
from spektron.report.run import RunData, load_run
from spektron.report.verdict import (
    Check,
    DisentanglementVerdict,
    disentanglement_verdict,
    five_point_checks,
    five_point_rule,
    headline_check,
)

__all__ = [
    "Check",
    "DisentanglementVerdict",
    "Report",
    "RunData",
    "disentanglement_verdict",
    "five_point_checks",
    "five_point_rule",
    "headline_check",
    "load_run",
    "write_report",
]
