"""From a :class:`~spektron.training.config.DataConfig` to training batches and held-out views.

A thin bridge to :mod:`spektron.data.corpus`: it picks the sources (built-in
generator, generator + real pool, or a QM9S subset), draws the simulated
instruments once, and builds the held-out paired views the diagnostics use
(molecules never in the training pool, each seen through every instrument).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from spektron.data.corpus import PretrainCorpus, paired_views
from spektron.data.instruments import draw_instruments, instruments_to_json
from spektron.data.pretrain_pool import load_pretrain_pool, pool_on_axis, to_model_axis
from spektron.data.qm9s import load_qm9s
from spektron.data.synthetic import default_axis, default_unit
from spektron.training.config import DataConfig

__all__ = ["PretrainData"]


class PretrainData:
    """Batches that are pure functions of ``(seed, rank, step)`` plus a fixed held-out set.

    Parameters
    ----------
    config : DataConfig
    seed : run seed (draws the instruments, the molecule pool and the batch stream).
    batch_size : spectra per batch (per rank).
    rank : process rank; each rank draws its own batches.
    paired : draw batches of B/2 molecules × 2 different instruments (for the
        model's cross-instrument pairing loss, ``lambda_pair > 0``).
    """

    def __init__(self, config: DataConfig, *, seed: int, batch_size: int, rank: int = 0,
                 paired: bool = False) -> None:
        self.config = config
        self.seed = seed
        region = config.region
        self.instruments = draw_instruments(config.n_instruments, seed=seed)
        self._eval_source = None
        if config.source in ("synthetic", "pool"):
            extra = []
            if config.source == "pool":
                extra = pool_on_axis(load_pretrain_pool(config.path), default_axis(region), default_unit(region))
                if not extra:
                    raise ValueError(f"no file in {config.path} covers enough of the {region.upper()} model axis")
            self.corpus = PretrainCorpus.from_synthetic(
                config.n_molecules, self.instruments, region, seed, batch_size, extra_sources=extra, rank=rank,
                paired=paired)
        else:  # qm9s

            wanted = config.n_molecules + config.n_eval_molecules
            spectra = load_qm9s(config.path, limit=wanted)
            if spectra.n_samples < wanted:
                raise ValueError(f"{config.path} has {spectra.n_samples} spectra; data.n_molecules + "
                                 f"data.n_eval_molecules needs {wanted}")
            spectra = to_model_axis(spectra, default_axis("mir"), "cm-1")
            train = spectra.select(np.arange(config.n_molecules))
            self._eval_source = spectra.select(np.arange(config.n_molecules, wanted))
            self.corpus = PretrainCorpus([train], self.instruments, batch_size, seed, rank=rank, paired=paired)

    def train_batch(self, step: int, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        """Batch ``step`` of this rank, on ``device``."""
        batch = self.corpus.batch(step)
        return {k: v.to(device) for k, v in batch.items()}

    def eval_views(self) -> dict[str, np.ndarray]:
        """Held-out molecules through every instrument (NumPy arrays; ``axis`` in cm⁻¹)."""
        if self._eval_source is None:
            views = self.corpus.paired_views(self.config.n_eval_molecules)
        else:
            views = paired_views(self.config.n_eval_molecules, self.instruments, self.seed,
                                 source=self._eval_source, scale=self.corpus.scales[0])
        return {k: v.numpy() for k, v in views.items()}

    def describe(self) -> dict[str, Any]:
        """What a run records about its data: the instruments' parameters and the pool."""
        return {"instruments": instruments_to_json(self.instruments), "n_pool": self.corpus.n_molecules}
