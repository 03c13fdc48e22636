"""Sample selection: Kennard–Stone ordering, calibration/test splits, transfer subsets.

Kennard–Stone picks samples that cover the spectral space uniformly, which is why the
calibration-transfer literature uses it both to split corn 64/16 and to choose the
transfer standards: the extremes come first, then the points that fill the largest
gaps.

Reference: R. W. Kennard and L. A. Stone, "Computer aided design of experiments",
Technometrics 11(1), 137–148 (1969).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from spektron.data.spectra import check_spectra

__all__ = ["kennard_stone", "calibration_test_split", "select_transfer", "shifted_batch", "BATCH_ENDS"]

#: The two ends a shifted batch is taken from, alternating by repeat.
BATCH_ENDS = ("top", "bottom")


def kennard_stone(X: np.ndarray, n: int | None = None) -> np.ndarray:
    """Indices of ``n`` rows of ``X`` in Kennard–Stone order (all rows by default).

    The first two are the pair farthest apart (the one farther from the mean first);
    every next row is the one whose nearest already-selected row is farthest away.
    Ties resolve to the lowest index, so the order is deterministic.
    """
    X = check_spectra(X, "X")
    m = X.shape[0]
    n = m if n is None else int(n)
    if not 0 <= n <= m:
        raise ValueError(f"cannot select {n} samples by Kennard–Stone from {m}")
    if n == 0:
        return np.empty(0, dtype=int)
    if m == 1:
        return np.zeros(1, dtype=int)
    D = cdist(X, X)
    i, j = np.unravel_index(np.argmax(D), D.shape)
    centre = np.linalg.norm(X - X.mean(axis=0), axis=1)
    first, second = (i, j) if centre[i] >= centre[j] else (j, i)
    order = [int(first), int(second)]
    nearest = np.minimum(D[first], D[second])
    nearest[order] = -np.inf
    while len(order) < n:
        nxt = int(np.argmax(nearest))
        order.append(nxt)
        nearest = np.minimum(nearest, D[nxt])
        nearest[order] = -np.inf
    return np.asarray(order[:n], dtype=int)


def calibration_test_split(
    X: np.ndarray,
    cal_fraction: float = 0.8,
    method: str = "ks",
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into calibration and test indices (both sorted).

    ``method="ks"`` puts the first ``round(cal_fraction · n)`` Kennard–Stone rows in
    the calibration set (deterministic: the test set lies inside the calibration
    domain); ``method="random"`` draws them uniformly with ``seed``.
    """
    X = check_spectra(X, "X")
    m = X.shape[0]
    if not 0.0 < cal_fraction < 1.0:
        raise ValueError(f"cal_fraction must lie strictly between 0 and 1, got {cal_fraction}")
    n_cal = int(round(cal_fraction * m))
    if n_cal < 2 or m - n_cal < 1:
        raise ValueError(
            f"a {cal_fraction:g} split of {m} samples leaves {n_cal} for calibration and "
            f"{m - n_cal} for test; need at least 2 and 1"
        )
    if method == "ks":
        cal = kennard_stone(X, n_cal)
    elif method == "random":
        cal = np.random.default_rng(seed).permutation(m)[:n_cal]
    else:
        raise ValueError(f"unknown split method {method!r}: expected 'ks' or 'random'")
    test = np.setdiff1d(np.arange(m), cal)
    return np.sort(cal), test


def shifted_batch(scores: np.ndarray, batch_fraction: float, end: str) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into a calibration set and a *batch* at one end of ``scores``.

    The batch is the ``round(batch_fraction · n)`` rows with the highest (``end="top"``) or
    lowest (``"bottom"``) scores — a production batch of another grade or season, whose
    chemistry differs from the calibration set's instead of sampling it. Ties resolve by
    row index, so the split is deterministic. Returns (calibration, batch), both sorted.
    """
    scores = np.asarray(scores, dtype=float).ravel()
    if not np.all(np.isfinite(scores)):
        raise ValueError("shifted_batch: the scores that order the rows must be finite")
    if end not in BATCH_ENDS:
        raise ValueError(f"unknown batch end {end!r}: expected one of {', '.join(BATCH_ENDS)}")
    m = scores.size
    n_batch = int(round(float(batch_fraction) * m))
    if n_batch < 1 or m - n_batch < 2:
        raise ValueError(f"a batch of {batch_fraction:g} of {m} samples leaves {n_batch} in the batch and "
                         f"{m - n_batch} for calibration; need at least 1 and 2")
    order = np.argsort(scores if end == "bottom" else -scores, kind="stable")
    batch = np.sort(order[:n_batch])
    return np.setdiff1d(np.arange(m), batch), batch


def select_transfer(
    X: np.ndarray,
    k: int,
    method: str = "ks",
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Positions (into ``X``'s rows) of ``k`` transfer samples, in selection order.

    With ``method="ks"`` the selection is nested (the k = 5 set contains the k = 3
    set), so a k sweep measures the value of *more* standards, not of different ones.
    ``method="random"`` is nested too for a fixed ``seed`` (a prefix of one
    permutation).
    """
    X = check_spectra(X, "X")
    k = int(k)
    if k < 0:
        raise ValueError(f"k must be ≥ 0, got {k}")
    if k > X.shape[0]:
        raise ValueError(f"k = {k} transfer samples requested but the calibration set has only {X.shape[0]}")
    if method == "ks":
        return kennard_stone(X, k)
    if method == "random":
        return np.random.default_rng(seed).permutation(X.shape[0])[:k]
    raise ValueError(f"unknown selection method {method!r}: expected 'ks' or 'random'")
