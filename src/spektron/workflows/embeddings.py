"""The held-out embeddings of a run that lacks them (runs pretrained before the trainer
wrote ``embeddings.npz``): rebuild the views the trainer evaluated on and encode them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spektron.models.encode import encode_views
from spektron.models.io import load_model
from spektron.report.run import read_json
from spektron.run_layout import CONFIG, EMBEDDINGS, MODEL, save_embeddings
from spektron.training.config import TrainConfig
from spektron.training.data import PretrainData

__all__ = ["compute_embeddings", "ensure_embeddings"]


def compute_embeddings(model_path: str | os.PathLike, config: dict[str, Any], *, batch_size: int = 128,
                       threads: int | None = 2) -> dict[str, np.ndarray]:
    """Encode the run's held-out paired views (the ones its diagnostics used) with ``model.pt``.

    ``config`` is the run's ``config.json``: the same data section and seed rebuild
    the same simulated instruments and held-out molecules the trainer evaluated on.
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    train_config = TrainConfig.from_dict(config)
    views = PretrainData(train_config.data, seed=train_config.seed, batch_size=train_config.batch_size).eval_views()
    return encode_views(load_model(model_path), views["x"], views["axis"], views["instrument"], views["molecule"],
                        batch_size=batch_size)


def ensure_embeddings(run_dir: str | os.PathLike) -> Path | None:
    """``RUN_DIR/embeddings.npz``, computed from ``model.pt`` and ``config.json`` when it
    is missing; None when the run has no model to compute them from."""

    run = Path(run_dir)
    path = run / EMBEDDINGS
    if path.is_file():
        return path
    if not (run / MODEL).is_file() or not (run / CONFIG).is_file():
        return None
    return save_embeddings(path, compute_embeddings(run / MODEL, read_json(run / CONFIG)))
