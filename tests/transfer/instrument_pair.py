"""A tiny synthetic master/target pair and model size shared by the transfer tests."""

from __future__ import annotations

import numpy as np

from spektron.data.instruments import SimulatedInstrument

AXIS = np.arange(1100.0, 1500.0, 4.0)  # nm, 100 channels
TINY = {"d_model": 16, "n_layers": 1, "state_size": 4, "z_chem_dim": 8, "z_inst_dim": 4,
        "classifier_hidden": 8, "moe_every": 0}


def synthetic_pair(n: int = 30, seed: int = 0):
    """Master spectra whose two bands trade intensity with y, and the same samples
    on a 'target' that shifts, broadens and adds a baseline: (X, T, y)."""
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.0, 1.0, n)
    band = lambda c, w: np.exp(-0.5 * ((AXIS - c) / w) ** 2)  # noqa: E731
    X = y[:, None] * band(1250, 30) + (1 - y[:, None]) * band(1400, 40) + 0.2
    X = X + 0.005 * rng.standard_normal(X.shape)
    target = SimulatedInstrument("t", shift_cm1=15.0, broadening_cm1=20.0, baseline_coeffs=(0.05, 0.03, 0.0),
                                 gain=1.05, snr_db=50.0)
    return X, target.apply(X, AXIS, "nm", rng=1), y
