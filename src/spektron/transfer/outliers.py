"""Is a spectrum inside the calibration domain? Hotelling T² and Q with their limits.

The chemometrics standard for flagging predictions that extrapolate: a PCA model of the
calibration spectra; **T²** measures how far a spectrum's scores lie from the
calibration's centre inside the model plane (Mahalanobis distance in the A-component
score space), **Q** (squared prediction error) how far the spectrum lies off that plane.
Each has a limit at a confidence level: T² from the F distribution for a new
observation, Q from the Jackson–Mudholkar approximation on the residual eigenvalues.
A prediction whose spectrum exceeds either 99 % limit is outside the calibration domain;
between 95 % and 99 % it deserves a look.

After a calibration transfer the spectra to check come from *another* instrument: what it
adds to every spectrum is expected, not an outlier. ``fit(X, nuisance=F)`` takes the
instrument's nuisance directions (the columns of F, e.g. from
:class:`~spektron.transfer.nuisance.InstrumentNuisance`) into the model plane for Q (a
spectrum is not "off the plane" for carrying the target instrument's signature) but not
into T² (which measures the chemistry's distance from the calibration samples).

References: J. E. Jackson, G. S. Mudholkar, "Control procedures for residuals associated
with principal component analysis", Technometrics 21, 341–349 (1979); P. Nomikos,
J. F. MacGregor, "Multivariate SPC charts for monitoring batch processes",
Technometrics 37, 41–59 (1995).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from spektron.data.spectra import validate_spectra

__all__ = ["CalibrationDomain"]

FLAG_OK, FLAG_WARNING, FLAG_OUTSIDE = "ok", "warning", "outside"


class CalibrationDomain(BaseEstimator):
    """PCA of the calibration spectra with Hotelling T² and Q limits.

    Parameters
    ----------
    n_components : int or None
        Principal components; None = the fewest explaining ``variance`` of the
        calibration spectra (at most n − 2).
    variance : float, default 0.99
        Explained-variance share that sets ``n_components`` when it is None.
    levels : (float, float), default (0.95, 0.99)
        The warning and outside confidence levels.

    Attributes
    ----------
    mean_, components_ (A, C), variances_ (A,) : the PCA.
    t2_limits_, q_limits_ : dict level → limit.
    """

    def __init__(self, n_components: int | None = None, variance: float = 0.99, levels: tuple[float, float] = (0.95, 0.99)):
        self.n_components = n_components
        self.variance = variance
        self.levels = levels

    def fit(self, X, y=None, nuisance: np.ndarray | None = None) -> "CalibrationDomain":
        """PCA of the calibration spectra ``X``; ``nuisance`` (C × r), directions
        excluded from Q (see the module docstring)."""
        X = validate_spectra(self, X, reset=True, name="calibration spectra", min_samples=4)
        n, C = X.shape
        lo, hi = (float(v) for v in self.levels)
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(f"levels must be two increasing confidence levels in (0, 1), got {self.levels!r}")
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
        eig = s**2 / (n - 1)  # every non-zero PCA eigenvalue
        if self.n_components is None:
            share = np.cumsum(eig) / max(eig.sum(), 1e-300)
            A = int(np.searchsorted(share, float(self.variance)) + 1)
        else:
            A = int(self.n_components)
        A = max(1, min(A, n - 2, len(eig)))
        self.n_components_ = A
        self.components_ = Vt[:A]
        self.variances_ = np.maximum(eig[:A], 1e-300)
        # the plane Q is measured from: the A components plus the nuisance directions
        plane = self.components_.T
        if nuisance is not None and np.size(nuisance):
            N = np.asarray(nuisance, dtype=float).reshape(C, -1)
            N = N - plane @ (plane.T @ N)
            U, sv, _ = np.linalg.svd(N, full_matrices=False)
            keep = sv > 1e-8 * max(sv.max(initial=0.0), 1e-300)
            plane = np.hstack([plane, U[:, keep]])
        self.plane_ = plane  # (C, A + r), orthonormal columns
        R = Xc - (Xc @ plane) @ plane.T
        residual = np.linalg.svd(R, compute_uv=False) ** 2 / (n - 1)
        residual = residual[residual > 1e-12 * max(residual.max(initial=0.0), 1e-300)]
        self.t2_limits_ = {lv: self._t2_limit(lv, A, n) for lv in (lo, hi)}
        self.q_limits_ = {lv: self._q_limit(lv, residual) for lv in (lo, hi)}
        return self

    @staticmethod
    def _t2_limit(level: float, A: int, n: int) -> float:
        """T² limit for a *new* observation (not one of the n the model was built on)."""
        return float(A * (n - 1) * (n + 1) / (n * (n - A)) * stats.f.ppf(level, A, n - A))

    @staticmethod
    def _q_limit(level: float, residual_eigenvalues: np.ndarray) -> float:
        th1, th2, th3 = (float(np.sum(residual_eigenvalues**i)) for i in (1, 2, 3))
        if th1 <= 0 or th2 <= 0:
            return 0.0
        h0 = 1.0 - 2.0 * th1 * th3 / (3.0 * th2**2)
        h0 = max(h0, 1e-3)  # a few residual eigenvalues of very unequal size can push h0 ≤ 0
        z = stats.norm.ppf(level)
        inner = z * np.sqrt(2.0 * th2 * h0**2) / th1 + 1.0 + th2 * h0 * (h0 - 1.0) / th1**2
        return float(th1 * max(inner, 0.0) ** (1.0 / h0))

    def scores(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``(T², Q)`` of each spectrum, (n,) each."""
        check_is_fitted(self, "components_")
        X = validate_spectra(self, X, reset=False, fitted="the calibration domain has")
        Xc = X - self.mean_
        t2 = np.sum((Xc @ self.components_.T) ** 2 / self.variances_, axis=1)
        q = np.sum((Xc - (Xc @ self.plane_) @ self.plane_.T) ** 2, axis=1)
        return t2, q

    def flags(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(T², Q, flag)`` with flag ``"outside"`` beyond either upper limit, ``"warning"``
        beyond either lower one, else ``"ok"``."""
        t2, q = self.scores(X)
        lo, hi = sorted(self.t2_limits_)
        outside = (t2 > self.t2_limits_[hi]) | (q > self.q_limits_[hi])
        warning = (t2 > self.t2_limits_[lo]) | (q > self.q_limits_[lo])
        flag = np.where(outside, FLAG_OUTSIDE, np.where(warning, FLAG_WARNING, FLAG_OK))
        return t2, q, flag

    def summary(self, flag: np.ndarray) -> str:
        """One line: how many spectra lie outside the calibration domain (99 % limits)."""
        flag = np.asarray(flag)
        n_out, n_warn = int(np.sum(flag == FLAG_OUTSIDE)), int(np.sum(flag == FLAG_WARNING))
        hi = max(self.t2_limits_)
        return (f"{n_out} of {flag.size} spectra outside the calibration domain (T² or Q above the {hi:.0%} limit)"
                + (f"; {n_warn} more above the {min(self.t2_limits_):.0%} limit" if n_warn else ""))
