"""Test-time training (SPEC §6.2): a few gradient steps on unlabelled target spectra.

The self-supervised masked-reconstruction loss needs no reference values, so it can
be minimised on the new instrument's own spectra before predicting (Sun et al. 2020,
"Test-time training with self-supervision for generalization under distribution
shifts"). Only normalisation affine parameters and the VIB projection heads move
(as in TENT, Wang et al. 2021, which adapts only normalisation parameters): they
re-centre and re-scale features for the new instrument without letting a handful of
spectra rewrite the backbone. Everything else is frozen — ``tests/test_ttt.py``
compares every parameter tensor before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spektron.training.objective import PretrainingObjective

__all__ = ["TTTConfig", "TTTResult", "run_test_time_training", "masked_reconstruction_loss"]


@dataclass
class TTTConfig:
    """Test-time training settings (SPEC §6 defaults).

    Parameters
    ----------
    n_spectra : int
        How many unlabelled target spectra (K) are used; the first K given.
    steps : int
        Optimiser steps (0 disables test-time training).
    lr : float
        Adam learning rate.
    mask_ratio : float
        Fraction of patches masked, in (0, 1).
    seed : int
        Seed of the patch masks.
    """

    n_spectra: int = 10
    steps: int = 3
    lr: float = 1e-5
    mask_ratio: float = 0.35
    seed: int = 0

    def validate(self) -> None:
        if isinstance(self.n_spectra, bool) or int(self.n_spectra) != self.n_spectra or self.n_spectra < 1:
            raise ValueError(f"ttt n_spectra must be a positive integer, got {self.n_spectra!r}")
        if isinstance(self.steps, bool) or int(self.steps) != self.steps or self.steps < 0:
            raise ValueError(f"ttt steps must be a non-negative integer, got {self.steps!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"ttt lr must be a positive number, got {self.lr!r}")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ValueError(f"ttt mask_ratio must lie in (0, 1), got {self.mask_ratio!r}")


@dataclass
class TTTResult:
    """What test-time training did: the loss on its fixed evaluation masks before and after."""

    loss_before: float
    loss_after: float
    n_spectra: int
    steps: int
    n_parameters: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _masks(n: int, n_patches: int, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """(n, n_patches) bool: ``round(ratio · N)`` masked patches per spectrum (≥ 1, ≤ N − 1)."""
    n_mask = min(max(int(round(ratio * n_patches)), 1), max(n_patches - 1, 1))
    rank = torch.rand(n, n_patches, generator=generator).argsort(dim=1).argsort(dim=1)
    return rank < n_mask


def masked_reconstruction_loss(model, x: torch.Tensor, axis: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The model's masked-patch MSE (standardised units) for ``mask`` — no KL, no classifiers."""
    return PretrainingObjective(model)({"x": x, "axis": axis}, mask=mask)["recon"]


def run_test_time_training(model, X, axis_cm1, config: TTTConfig | None = None) -> TTTResult:
    """Adapt ``model`` in place to unlabelled spectra ``X`` (n, C) on ``axis_cm1`` (C,).

    Runs in eval mode (posterior means, no dropout) so the loss is deterministic
    given the masks; the evaluation masks used for ``loss_before``/``loss_after``
    are drawn once and reused, each training step draws fresh masks. Trainability
    flags are restored afterwards.
    """
    config = TTTConfig() if config is None else config
    config.validate()
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"test-time training needs a non-empty 2-D array of target spectra, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("target spectra for test-time training contain NaN or inf")
    X = X[: int(config.n_spectra)]
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(X, dtype=dtype)
    axis = torch.as_tensor(np.asarray(axis_cm1, dtype=float), dtype=dtype)
    n_patches = model.n_patches(x.shape[1])
    gen = torch.Generator().manual_seed(int(config.seed))
    eval_mask = _masks(x.shape[0], n_patches, config.mask_ratio, gen)

    params = model.ttt_parameters()
    was_training = model.training
    flags = {id(p): p.requires_grad for p in model.parameters()}
    model.eval()
    try:
        with torch.no_grad():
            before = float(masked_reconstruction_loss(model, x, axis, eval_mask))
        if config.steps > 0:
            model.freeze_except(params)
            opt = torch.optim.Adam(params, lr=float(config.lr))
            for _ in range(int(config.steps)):
                mask = _masks(x.shape[0], n_patches, config.mask_ratio, gen)
                loss = masked_reconstruction_loss(model, x, axis, mask)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            after = float(masked_reconstruction_loss(model, x, axis, eval_mask))
    finally:
        for p in model.parameters():
            p.requires_grad_(flags[id(p)])
            p.grad = None
        model.train(was_training)
    return TTTResult(before, after, int(x.shape[0]), int(config.steps), sum(p.numel() for p in params))
