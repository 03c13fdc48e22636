"""Figures of merit for a prediction on a test set (RMSEP, R², bias, SEP).

Definitions follow the chemometrics convention (e.g. ASTM E1655, Fearn 2002):
bias = mean(ŷ − y); SEP is the standard deviation of the residuals around the bias
(n − 1 denominator), so RMSEP² ≈ bias² + SEP²·(n − 1)/n.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rmsep", "r2", "bias", "sep", "regression_metrics"]


def _check(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("no predictions to score")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError("y_true and y_pred must be finite")
    return y_true, y_pred


def rmsep(y_true, y_pred) -> float:
    """Root mean squared error of prediction."""
    y, p = _check(y_true, y_pred)
    return float(np.sqrt(np.mean((p - y) ** 2)))


def bias(y_true, y_pred) -> float:
    """Mean prediction error ŷ − y (positive: over-prediction)."""
    y, p = _check(y_true, y_pred)
    return float(np.mean(p - y))


def sep(y_true, y_pred) -> float:
    """Standard error of prediction: bias-corrected residual standard deviation."""
    y, p = _check(y_true, y_pred)
    if y.size < 2:
        return float("nan")
    return float(np.std(p - y, ddof=1))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot (NaN when y is constant)."""
    y, p = _check(y_true, y_pred)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((p - y) ** 2)) / ss_tot


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """All four figures of merit plus ``n_test`` as one record."""
    y, p = _check(y_true, y_pred)
    return {"rmsep": rmsep(y, p), "r2": r2(y, p), "bias": bias(y, p), "sep": sep(y, p), "n_test": int(y.size)}
