"""Input checks shared by the transfer estimators: the master calibration set and the pairs.

One place for the messages a user sees when a calibration or a set of transfer pairs is
malformed, so that every estimator answers a bad input with the same line.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from spektron.data.spectra import check_spectra, check_targets

__all__ = ["check_master", "check_pairs"]


def check_master(master_X, master_y, min_samples: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Validated master calibration spectra (n, C) and reference values (n,)."""
    X = check_spectra(master_X, "master calibration spectra")
    y = check_targets(master_y, X.shape[0], "master_y", "master spectra")
    if X.shape[0] < min_samples:
        raise ValueError(f"need at least {min_samples} master calibration spectra, got {X.shape[0]}")
    return X, y


def check_pairs(pairs, master_side: Callable[[np.ndarray, str], np.ndarray],
                target_side: Callable[[np.ndarray, str], np.ndarray]):
    """``(master_std, target_std, y_std)`` validated, or ``(None, None, None)`` for no pairs.

    ``master_side``/``target_side`` check one array of spectra given a name (channel
    count, axis, resampling: the estimator's own rules).
    """
    if pairs is None:
        return None, None, None
    if not isinstance(pairs, (tuple, list)) or len(pairs) != 3:
        raise ValueError("pairs must be a tuple (master_std, target_std, y_std)")
    py = np.asarray(pairs[2], dtype=float).ravel()
    if not py.size:
        return None, None, None
    pm = master_side(pairs[0], "master transfer spectra")
    pt = target_side(pairs[1], "target transfer spectra")
    if not (pm.shape[0] == pt.shape[0] == py.size):
        raise ValueError(f"pairs disagree: {pm.shape[0]} master spectra, {pt.shape[0]} target spectra, {py.size} values")
    check_targets(py, py.size, "the pairs' reference values")
    return pm, pt, py
