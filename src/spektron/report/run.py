"""Read a run directory (layout and file names: :mod:`spektron.run_layout`), tolerating
the parts a run did not produce. Reading only: no model, no torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spektron.run_layout import BENCHMARK, CONFIG, DEMO, EMBEDDINGS, METRICS, MODEL, SWEEP, TTT, load_embeddings
from spektron.training.logging import read_metrics

__all__ = ["RunData", "load_run", "read_json"]


@dataclass
class RunData:
    """Everything a report can show about one run (``None`` / empty where absent)."""

    path: Path
    train: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] | None = None
    embeddings: dict[str, np.ndarray] | None = None
    benchmark: list[dict[str, Any]] | None = None
    ttt: list[dict[str, Any]] | None = None
    sweep: dict[str, Any] | None = None
    demo: dict[str, Any] | None = None

    @property
    def model_path(self) -> Path | None:
        path = self.path / MODEL
        return path if path.is_file() else None

    @property
    def last_eval(self) -> dict[str, Any] | None:
        return self.evals[-1] if self.evals else None


def read_json(path: str | os.PathLike) -> Any:
    """Parsed JSON of ``path``; a clear ``ValueError`` naming the file when it is malformed."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _optional_json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def load_run(path: str | os.PathLike) -> RunData:
    """Read a run directory (see the module docstring for the layout)."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"run directory not found: {path}")
    metrics = path / METRICS
    if not metrics.is_file():
        raise ValueError(f"{path} is not a run directory: it has no {METRICS} (run `spektron demo` or "
                         f"`spektron pretrain --out {path}` first)")
    records = read_metrics(metrics)
    run = RunData(
        path=path,
        train=[r for r in records if r.get("kind") == "train"],
        evals=[r for r in records if r.get("kind") == "eval"],
        config=_optional_json(path / CONFIG),
        benchmark=_optional_json(path / BENCHMARK),
        ttt=_optional_json(path / TTT),
        sweep=_optional_json(path / SWEEP),
        demo=_optional_json(path / DEMO),
    )
    if (path / EMBEDDINGS).is_file():
        run.embeddings = load_embeddings(path / EMBEDDINGS)
    return run
