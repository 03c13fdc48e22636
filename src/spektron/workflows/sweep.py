"""VIB weight sweep (SPEC §3): one pretraining run per KL weight ``w_kl``, selected by
cross-instrument retrieval accuracy on held-out views — not by training loss.

The training loss always prefers a weak bottleneck (less KL to pay), which is
exactly the setting that lets the instrument leak into ``z_chem``; retrieval of
the same molecule across instruments measures what the latent is for. Ties in
retrieval go to the lower instrument-probe accuracy on ``z_chem``.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from spektron.report.html import Report, write_report
from spektron.run_layout import METRICS, SWEEP
from spektron.training.logging import read_metrics
from spektron.training.trainer import pretrain

__all__ = ["DEFAULT_WEIGHTS", "parse_weights", "report_selected", "select_weight", "sweep_vib"]

DEFAULT_WEIGHTS = (1e-4, 1e-3, 1e-2, 1e-1)


def parse_weights(text: str | Sequence[float]) -> list[float]:
    """``"1e-4,1e-3"`` (or a sequence) → sorted unique positive floats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        weights = sorted({float(str(w).strip()) for w in items if str(w).strip()})
    except ValueError:
        raise ValueError(f"weights must be comma-separated numbers, got {text!r}") from None
    if not weights:
        raise ValueError("no weights given")
    if any(not (w > 0 and w != float("inf")) for w in weights):
        raise ValueError(f"VIB weights must be positive and finite, got {weights}")
    return weights


def select_weight(runs: Sequence[dict[str, Any]]) -> float:
    """The ``w_kl`` with the highest ``retrieval_top1`` (ties: lowest ``inst_acc_chem``)."""
    if not runs:
        raise ValueError("no sweep runs to select from")
    best = max(runs, key=lambda r: (r["retrieval_top1"], -r["inst_acc_chem"]))
    return float(best["w_kl"])


def _summary(w: float, run_dir: Path) -> dict[str, Any]:
    records = read_metrics(run_dir / METRICS)
    evals = [r for r in records if r.get("kind") == "eval"]
    train = [r for r in records if r.get("kind") == "train"]
    if not evals:
        raise ValueError(f"run {run_dir} logged no held-out diagnostics: set eval_every > 0")
    last = evals[-1]
    return {
        "w_kl": w, "run_dir": str(run_dir), "retrieval_top1": last["retrieval_top1"],
        "inst_acc_chem": last["inst_acc_chem"], "inst_acc_inst": last["inst_acc_inst"], "chance": last["chance"],
        "kl_chem_collapsed_frac": last.get("kl_chem_collapsed_frac"),
        "final_loss": train[-1]["loss"] if train else None, "steps": last["step"],
    }


def sweep_vib(
    weights: Sequence[float],
    out: str | os.PathLike,
    config,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Pretrain one model per weight into ``out/w_kl=<w>/``; write and return ``out/sweep.json``.

    ``config`` is a :class:`~spektron.training.config.TrainConfig`; only
    ``model.w_kl`` changes between the runs (same seed, data and schedule).
    """
    weights = parse_weights(weights)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for i, w in enumerate(weights, 1):
        run_config = copy.deepcopy(config)
        run_config.model.w_kl = float(w)
        run_config.validate()
        run_dir = out / f"w_kl={w:g}"
        echo(f"[{i}/{len(weights)}] w_kl = {w:g} → {run_dir}")
        result = pretrain(run_config, run_dir, progress=progress)
        if result.interrupted:
            raise KeyboardInterrupt(f"sweep interrupted during w_kl = {w:g}")
        runs.append(_summary(float(w), run_dir))
    selected = select_weight(runs)
    sweep = {"criterion": "retrieval_top1 (cross-instrument, held-out; ties: lower inst_acc_chem)",
             "runs": runs, "selected": selected,
             "selected_run": next(r["run_dir"] for r in runs if r["w_kl"] == selected)}
    (out / SWEEP).write_text(json.dumps(sweep, indent=1), encoding="utf-8")
    return sweep


def report_selected(sweep: dict[str, Any], projection: str = "umap") -> Report:
    """Copy the sweep's summary into the selected run and write that run's report
    (which then shows the sweep beside the run's own figures)."""
    selected = Path(sweep["selected_run"])
    (selected / SWEEP).write_text(json.dumps(sweep, indent=1), encoding="utf-8")
    return write_report(selected, projection=projection)
