"""What a run directory holds, and loaders that tolerate the parts a run did not produce.

A *run directory* is what ``spektron demo`` (or ``spektron pretrain`` followed by
``spektron benchmark`` and ``spektron sweep``) leaves behind; ``spektron report
RUN_DIR`` reads it. Every file is optional except ``metrics.jsonl``; the report
shows what is there and says what is missing::

    RUN_DIR/
      config.json            pretraining TrainConfig (written by the trainer)
      metrics.jsonl          JSON lines: "train" records (losses, beta, alpha, lr) and
                             "eval" records (held-out probe accuracies, retrieval,
                             KL / collapse fraction), written by the trainer
      model.pt               the pretrained SpektronModel (spektron.models.io)
      embeddings.npz         held-out views encoded by model.pt: z_chem, z_inst,
                             mu_chem, logvar_chem (n, d) and instrument, molecule (n,)
                             integer labels (written by demo, or by `report` from model.pt)
      benchmark/results.json transfer records of spektron.evaluation.run_benchmark
                             (method, master, target, property, k, rmsep, r2, ...)
      ttt.json               test-time training: [{"pair", "property", "k",
                             "loss_before", "loss_after"}, ...]
      sweep.json             VIB weight sweep (spektron.sweep): {"runs": [...], "selected": w}
      demo.json              what the demo ran: dataset, instruments, timings, options
      report/                report.html and the PNGs it embeds (written by `report`)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EMBEDDING_KEYS",
    "RunData",
    "compute_embeddings",
    "encode_views",
    "load_embeddings",
    "load_run",
    "read_json",
    "save_embeddings",
]

METRICS = "metrics.jsonl"
CONFIG = "config.json"
MODEL = "model.pt"
EMBEDDINGS = "embeddings.npz"
BENCHMARK = Path("benchmark") / "results.json"
TTT = "ttt.json"
SWEEP = "sweep.json"
DEMO = "demo.json"
REPORT_DIR = "report"

EMBEDDING_KEYS = ("z_chem", "z_inst", "mu_chem", "logvar_chem", "instrument", "molecule")


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


def load_embeddings(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Arrays of an ``embeddings.npz``; every key of :data:`EMBEDDING_KEYS` must be there."""
    with np.load(path, allow_pickle=False) as npz:
        data = {k: npz[k] for k in npz.files}
    missing = [k for k in EMBEDDING_KEYS if k not in data]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)} (expected {', '.join(EMBEDDING_KEYS)})")
    n = len(data["instrument"])
    if any(len(data[k]) != n for k in EMBEDDING_KEYS):
        raise ValueError(f"{path}: arrays have different numbers of rows")
    return data


def save_embeddings(path: str | os.PathLike, embeddings: dict[str, np.ndarray]) -> Path:
    """Write ``embeddings`` (the :data:`EMBEDDING_KEYS` arrays) as a compressed ``.npz``."""
    missing = [k for k in EMBEDDING_KEYS if k not in embeddings]
    if missing:
        raise ValueError(f"embeddings lack {', '.join(missing)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in embeddings.items()})
    return path


def load_run(path: str | os.PathLike) -> RunData:
    """Read a run directory (see the module docstring for the layout)."""
    from spektron.training.logging import read_metrics

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


def compute_embeddings(
    model_path: str | os.PathLike,
    config: dict[str, Any],
    *,
    batch_size: int = 128,
    threads: int | None = 2,
) -> dict[str, np.ndarray]:
    """Encode the run's held-out paired views (the ones its diagnostics used) with ``model.pt``.

    ``config`` is the run's ``config.json``: the same data section and seed rebuild
    the same simulated instruments and held-out molecules the trainer evaluated on.
    """
    import torch

    from spektron.models.io import load_model
    from spektron.training.config import TrainConfig
    from spektron.training.data import PretrainData

    if threads:
        torch.set_num_threads(threads)
    train_config = TrainConfig.from_dict(config)
    views = PretrainData(train_config.data, seed=train_config.seed, batch_size=train_config.batch_size).eval_views()
    model = load_model(model_path)
    return encode_views(model, views["x"], views["axis"], views["instrument"], views["molecule"], batch_size=batch_size)


def encode_views(model, x: np.ndarray, axis: np.ndarray, instrument: np.ndarray, molecule: np.ndarray,
                 *, batch_size: int = 128) -> dict[str, np.ndarray]:
    """Posterior means (eval mode) of ``x`` (n, C) on ``axis`` (C,) cm⁻¹, with their labels."""
    import torch

    model.eval()
    axis_t = torch.as_tensor(np.asarray(axis), dtype=torch.float32)
    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb = torch.as_tensor(np.asarray(x[start:start + batch_size]), dtype=torch.float32)
            z_chem, z_inst, extras = model.encode(xb, axis_t)
            for key, value in (("z_chem", z_chem), ("z_inst", z_inst), ("mu_chem", extras["mu_chem"]),
                               ("logvar_chem", extras["logvar_chem"])):
                parts.setdefault(key, []).append(value.float().cpu().numpy())
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["instrument"] = np.asarray(instrument, dtype=np.int64)
    out["molecule"] = np.asarray(molecule, dtype=np.int64)
    return out
