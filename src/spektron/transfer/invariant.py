"""A PLS calibration made insensitive to a known nuisance covariance.

If a target spectrum is ``x + e`` with a per-sample nuisance ``e ~ (0, Σ)``, the
expected squared error of a linear model ``b`` on the target is the master error plus
``bᵀ Σ b``. Training on the master set with Σ-distributed noise added (nuisance
augmentation) minimises exactly that in expectation; with infinitely many augmented
copies the augmentation becomes deterministic: the cross-product matrix ``XᵀX`` gains
``n Σ`` and ``Xᵀy`` is unchanged. So "PLS on augmented data" is PLS on
``XᵀX + L Lᵀ`` with ``L Lᵀ = n Σ`` — no random copies, no extra rows, and the
same nested-component structure as ordinary PLS. With ``L = 0`` it *is* ordinary PLS
(tested against scikit-learn's).

The kernel algorithm (Dayal & MacGregor 1997) needs only products with
``XᵀX + L Lᵀ``; with ``L`` of low rank (a nuisance estimated from tens of spectra)
each product costs O((n + r)·C) instead of O(C²).

References: B. S. Dayal, J. F. MacGregor, "Improved PLS algorithms", J. Chemometrics
11, 73–85 (1997). J.-M. Roger, F. Chauchard, V. Bellon-Maurel, "EPO-PLS external
parameter orthogonalisation of PLS", Chemometr. Intell. Lab. Syst. 66, 191–204 (2003)
(the hard-projection limit of the same idea).
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import RepeatedKFold

__all__ = ["penalised_pls", "cv_components", "PenalisedPLSFit"]


def penalised_pls(Xc: np.ndarray, yc: np.ndarray, L: np.ndarray | None, n_components: int) -> np.ndarray:
    """Regression vectors of the 1 … A component PLS1 models on ``XᵀX + L Lᵀ``.

    Parameters
    ----------
    Xc : (n, C) centred spectra;  yc : (n,) centred responses.
    L : (C, r) or None — the nuisance penalty factor (``L Lᵀ = n Σ``).
    n_components : A, the largest number of components.

    Returns
    -------
    B : (C, A') with A' ≤ A (fewer when ``Xᵀy`` is exhausted); column ``a − 1`` is
    the ``a``-component model, so predictions are ``(x − x̄) @ B + ȳ``.
    """
    Xc = np.asarray(Xc, dtype=float)
    C = Xc.shape[1]
    has_L = L is not None and L.size > 0

    def gram(v: np.ndarray) -> np.ndarray:
        out = Xc.T @ (Xc @ v)
        if has_L:
            out += L @ (L.T @ v)
        return out

    xty = Xc.T @ np.asarray(yc, dtype=float)
    scale = np.linalg.norm(xty)
    A = int(n_components)
    R = np.zeros((C, A))
    P = np.zeros((C, A))
    q = np.zeros(A)
    for a in range(A):
        norm = np.linalg.norm(xty)
        if scale == 0 or norm <= 1e-12 * scale:
            A = a
            break
        w = xty / norm
        r = w - R[:, :a] @ (P[:, :a].T @ w)
        Sr = gram(r)
        tt = float(r @ Sr)
        if tt <= 0:
            A = a
            break
        p = Sr / tt
        qa = float(r @ xty) / tt
        xty = xty - p * (qa * tt)
        R[:, a], P[:, a], q[a] = r, p, qa
    return np.cumsum(R[:, :A] * q[:A], axis=1)


class PenalisedPLSFit:
    """One fitted penalised PLS: ``predict(X) = (X − x_mean) @ coef + y_mean``."""

    def __init__(self, x_mean: np.ndarray, y_mean: float, coef: np.ndarray, n_components: int, cv_mse: float):
        self.x_mean = x_mean
        self.y_mean = float(y_mean)
        self.coef = coef
        self.n_components = int(n_components)
        self.cv_mse = float(cv_mse)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.x_mean) @ self.coef + self.y_mean


def cv_components(
    X: np.ndarray,
    y: np.ndarray,
    L: np.ndarray | None = None,
    *,
    max_components: int = 20,
    folds: int = 5,
    repeats: int = 3,
    seed: int = 0,
    n_components: int | None = None,
) -> PenalisedPLSFit:
    """Fit the penalised PLS on ``(X, y)``, its number of components chosen by repeated
    K-fold CV on these rows (the penalty scaled to each training fold's size), unless
    ``n_components`` fixes it. ``cv_mse`` is the cross-validated MSE of the chosen
    model (NaN when fixed)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    n = X.shape[0]
    x_mean, y_mean = X.mean(axis=0), float(y.mean())
    Xc = X - x_mean
    if n_components is not None:
        B = penalised_pls(Xc, y - y_mean, L, max(1, int(n_components)))
        return PenalisedPLSFit(x_mean, y_mean, B[:, -1], B.shape[1], float("nan"))
    folds = min(int(folds), n)
    smallest_train = n - int(np.ceil(n / folds))
    A = max(1, min(int(max_components), smallest_train - 1, X.shape[1]))
    sq = np.zeros(A)
    if folds >= 2 and smallest_train >= 2:
        for tr, va in RepeatedKFold(n_splits=folds, n_repeats=int(repeats), random_state=seed).split(X):
            m, ym = X[tr].mean(axis=0), y[tr].mean()
            Lf = None if L is None else L * np.sqrt(len(tr) / n)
            Bf = penalised_pls(X[tr] - m, y[tr] - ym, Lf, A)
            pred = (X[va] - m) @ Bf + ym
            sq[: Bf.shape[1]] += ((pred - y[va, None]) ** 2).sum(axis=0)
            sq[Bf.shape[1]:] = np.inf
        mse = sq / (n * int(repeats))
    else:
        mse = np.zeros(A)
    B = penalised_pls(Xc, y - y_mean, L, A)
    a = int(np.argmin(mse[: B.shape[1]])) if B.shape[1] else 0
    if B.shape[1] == 0:  # y constant or X carries nothing: predict the mean
        return PenalisedPLSFit(x_mean, y_mean, np.zeros(X.shape[1]), 0, float(np.var(y)))
    return PenalisedPLSFit(x_mean, y_mean, B[:, a], a + 1, float(mse[a]))
