"""What a run directory holds: every file name, for the writers and the readers.

A *run directory* is what ``spektron demo`` (or ``spektron pretrain`` followed by
``spektron benchmark`` and ``spektron sweep``) leaves behind; ``spektron report
RUN_DIR`` reads it. Every file is optional except ``metrics.jsonl``; the report
shows what is there and says what is missing::

    RUN_DIR/
      config.json            pretraining TrainConfig (written by the trainer)
      metrics.jsonl          JSON lines: "train" records (losses, beta, alpha, lr) and
                             "eval" records (held-out probe accuracies, retrieval,
                             KL / collapse fraction), written by the trainer
      instruments.json       the simulated instruments of pretraining (trainer)
      checkpoints/           resumable training state (trainer)
      tensorboard/           TensorBoard event files, when tensorboard is installed (trainer)
      model.pt               the pretrained SpektronModel (spektron.models.io)
      embeddings.npz         the held-out views encoded by the final model: z_chem,
                             z_inst, mu_chem, logvar_chem (n, d) and instrument,
                             molecule (n,) integer labels (written by the trainer; for
                             older runs by `spektron report` from model.pt)
      benchmark/results.json transfer records of spektron.evaluation.run_benchmark
                             (method, master, target, property, k, rmsep, r2, ...),
                             beside results.csv, summary.md and the RMSEP-vs-k plots
      ttt.json               test-time training: [{"pair", "property", "k",
                             "loss_before", "loss_after"}, ...]
      sweep.json             VIB weight sweep (spektron.workflows.sweep): {"runs": [...], "selected": w}
      demo.json              what the demo ran: dataset, instruments, timings, options
      report/                report.html and the PNGs it embeds (written by `report`)

This module imports nothing of the package but :mod:`spektron.atomic_io`, so the lowest
writer (the trainer) and the highest reader (the report) share it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from spektron.atomic_io import atomic_write

__all__ = [
    "BENCHMARK", "BENCHMARK_DIR", "CHECKPOINTS", "CONFIG", "DEMO", "EMBEDDINGS", "EMBEDDING_KEYS", "INSTRUMENTS",
    "METRICS", "MODEL", "REPORT_DIR", "RESULTS_CSV", "RESULTS_JSON", "SUMMARY", "SWEEP", "TENSORBOARD", "TTT",
    "load_embeddings", "save_embeddings",
]

CONFIG = "config.json"
METRICS = "metrics.jsonl"
INSTRUMENTS = "instruments.json"
CHECKPOINTS = "checkpoints"
TENSORBOARD = "tensorboard"
MODEL = "model.pt"
EMBEDDINGS = "embeddings.npz"
BENCHMARK_DIR = "benchmark"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
SUMMARY = "summary.md"
BENCHMARK = Path(BENCHMARK_DIR) / RESULTS_JSON
TTT = "ttt.json"
SWEEP = "sweep.json"
DEMO = "demo.json"
REPORT_DIR = "report"

EMBEDDING_KEYS = ("z_chem", "z_inst", "mu_chem", "logvar_chem", "instrument", "molecule")


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
    """Write ``embeddings`` (the :data:`EMBEDDING_KEYS` arrays) as a compressed ``.npz``,
    atomically (a temporary file renamed into place)."""
    missing = [k for k in EMBEDDING_KEYS if k not in embeddings]
    if missing:
        raise ValueError(f"embeddings lack {', '.join(missing)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as fh:
        np.savez_compressed(fh, **{k: np.asarray(embeddings[k]) for k in EMBEDDING_KEYS})
    return path
