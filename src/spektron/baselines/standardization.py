"""Spectral standardisation: map target-instrument spectra into the master's space.

Both transformers learn, from k samples measured on both instruments, a linear map
``x_master ≈ x_target + b + (x_target − x̄_target) G`` and are **regularised**: the
correction ``G`` is a ridge regression whose strength is picked by exact leave-one-out
on the transfer samples (closed form through the hat matrix, so the search is free).
Anchoring the shrinkage at the identity rather than at zero matters when k is small:
as the ridge strength grows the map falls back to an additive offset correction (the
spectral analogue of bias correction) instead of collapsing every spectrum onto the
span of the k standards, which is what plain pseudo-inverse DS does for k ≪ channels.
With k = 1 only the offset can be estimated, and that is what is returned.

Why not chemotools' ``DirectStandardization``: it is the unregularised pseudo-inverse
map (no rank or ridge parameter); ``PiecewiseDirectStandardization`` fits one PLS per
channel in a Python loop (≈ 1 s per fit on 700 channels) and needs ``n_components ≤ k``.
Here PDS solves all windows at once with a batched SVD.

References
----------
Y. Wang, D. J. Veltkamp, B. R. Kowalski, "Multivariate instrument standardization",
Anal. Chem. 63, 2750–2756 (1991) — DS and PDS.
J. H. Kalivas, G. G. Siano, E. Andries, H. C. Goicoechea, "Calibration maintenance and
transfer using Tikhonov regularization approaches", Appl. Spectrosc. 63, 800–809 (2009).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from spektron.data.spectra import check_spectra

__all__ = ["DirectStandardization", "PiecewiseDirectStandardization", "DEFAULT_ALPHAS"]

#: ridge strengths relative to the largest squared singular value of the (local) target
#: transfer spectra; ``inf`` = offset correction only.
DEFAULT_ALPHAS: tuple[float, ...] = tuple(np.logspace(-8, 0, 17)) + (np.inf,)


def _check_pair(X, X_master) -> tuple[np.ndarray, np.ndarray]:
    X = check_spectra(X, "target transfer spectra")
    if X_master is None:
        raise ValueError("X_master (the same samples measured on the master instrument) is required")
    Xm = check_spectra(X_master, "master transfer spectra")
    if Xm.shape != X.shape:
        raise ValueError(f"target transfer spectra {X.shape} and master transfer spectra {Xm.shape} differ in shape")
    return X, Xm


def ridge_loo(Z: np.ndarray, D: np.ndarray, alphas) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batched ridge regressions of centred ``D`` on centred ``Z`` with exact LOO residuals.

    Z : (B, k, w) regressors, D : (B, k, m) responses, both already centred over k.
    Returns ``(loo, V, filters, UtD)``: the leave-one-out residuals per alpha
    (n_alphas, B, k, m; ``inf`` where a sample has leverage 1), the right singular
    vectors (B, w, r), the spectral filter ``s / (s² + λ)`` per alpha (n_alphas, B, r)
    and ``Uᵀ D`` (B, r, m), so that the coefficients for alpha ``a`` are
    ``V · diag(filters[a]) · Uᵀ D``. The intercept is unpenalised (the hat matrix
    includes ``1/k``), so the residuals are those of the uncentred responses.
    """
    B, k, _ = Z.shape
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)  # (B,k,r) (B,r) (B,r,w)
    UtD = np.einsum("bkr,bkm->brm", U, D)
    smax2 = np.maximum(s[:, :1] ** 2, np.finfo(float).tiny)  # (B,1)
    alphas = np.asarray(alphas, dtype=float)
    loo = np.empty((alphas.size,) + D.shape)
    filters = np.empty((alphas.size, B, s.shape[1]))
    for a, alpha in enumerate(alphas):
        shrink = np.zeros_like(s) if np.isinf(alpha) else s**2 / (s**2 + alpha * smax2)  # (B,r)
        filters[a] = np.divide(shrink, s, out=np.zeros_like(s), where=s > 0)
        fitted = np.einsum("bkr,br,brm->bkm", U, shrink, UtD)
        h = 1.0 / k + np.einsum("bkr,br->bk", U**2, shrink)
        leverage_one = h > 1.0 - 1e-10
        with np.errstate(divide="ignore", invalid="ignore"):
            loo[a] = np.where(leverage_one[..., None], np.inf, (D - fitted) / (1.0 - h)[..., None])
    return loo, np.swapaxes(Vt, 1, 2), filters, UtD


def _choose_alpha(loo_diff: np.ndarray, Xm: np.ndarray, y, model) -> tuple[int, np.ndarray]:
    """Index of the best alpha and the LOO score per alpha.

    ``loo_diff`` (n_alphas, k, p) are LOO residuals of the master spectra. With a
    calibration ``model`` and reference values ``y`` the score is the LOO RMSE of the
    predicted property (what the transfer is for); otherwise the spectral LOO RMSE.
    """
    n_alphas = loo_diff.shape[0]
    score = np.full(n_alphas, np.inf)
    for a in range(n_alphas):
        if not np.all(np.isfinite(loo_diff[a])):
            continue
        if model is None:
            score[a] = float(np.sqrt(np.mean(loo_diff[a] ** 2)))
        else:
            pred = np.asarray(model.predict(Xm - loo_diff[a]), dtype=float).ravel()
            score[a] = float(np.sqrt(np.mean((pred - y) ** 2)))
    best = int(np.argmin(score)) if np.isfinite(score).any() else n_alphas - 1
    return best, score


def _check_selector(X, y, model):
    if (y is None) != (model is None):
        raise ValueError("give both y (transfer reference values) and model to select alpha by prediction error, or neither")
    if y is None:
        return None
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{X.shape[0]} transfer spectra but {y.shape[0]} reference values")
    return y


class DirectStandardization(TransformerMixin, BaseEstimator):
    """Ridge-regularised direct standardisation (DS), shrunk towards the identity.

    Learns ``x_master ≈ x_target + b + (x_target − x̄_target) G`` over all channels.

    Parameters
    ----------
    alpha : float or None, default=None
        Ridge strength relative to the largest squared singular value of the centred
        target transfer spectra; ``None`` picks it from :data:`DEFAULT_ALPHAS` by
        leave-one-out (see :meth:`fit` for the criterion).

    Attributes
    ----------
    alpha_ : float
        The strength used (``inf``: offset only).
    loo_rmse_ : ndarray
        LOO RMSE for each candidate alpha (property or spectral, see :meth:`fit`).
    offset_ : ndarray (n_channels,)
    coef_ : ndarray (n_channels, n_channels) stored as two thin factors ``left_``, ``right_``.
    """

    def __init__(self, alpha: float | None = None):
        self.alpha = alpha

    def fit(self, X, y=None, *, X_master=None, model=None) -> "DirectStandardization":
        """Fit on target transfer spectra ``X`` and the same samples' ``X_master``.

        With ``y`` (their reference values) and a fitted master calibration ``model``,
        alpha minimises the LOO error of the predicted property; otherwise the LOO
        error of the reconstructed master spectra.
        """
        X, Xm = _check_pair(X, X_master)
        y = _check_selector(X, y, model)
        k, p = X.shape
        self.mean_target_ = X.mean(axis=0)
        D = (Xm - X) - (Xm - X).mean(axis=0)
        self.offset_ = (Xm - X).mean(axis=0)
        alphas = DEFAULT_ALPHAS if self.alpha is None else (float(self.alpha),)
        if self.alpha is not None and not float(self.alpha) >= 0:
            raise ValueError(f"alpha must be ≥ 0 or None, got {self.alpha}")
        if k < 2:
            self.alpha_, self.loo_rmse_ = np.inf, np.full(len(alphas), np.nan)
            self.left_, self.right_ = np.zeros((p, 0)), np.zeros((0, p))
        else:
            Z = (X - self.mean_target_)[None]
            loo, V, filters, UtD = ridge_loo(Z, D[None], alphas)
            best, self.loo_rmse_ = _choose_alpha(loo[:, 0], Xm, y, model)
            self.alpha_ = float(alphas[best])
            # G = V diag(f) Uᵀ D, kept factored: (p × r)(r × p)
            self.left_ = V[0] * filters[best, 0][None, :]
            self.right_ = UtD[0]
        self.n_features_in_ = p
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "offset_")
        X = check_spectra(X, "spectra", self.n_features_in_, "the map was fitted on")
        return X + self.offset_ + ((X - self.mean_target_) @ self.left_) @ self.right_


class PiecewiseDirectStandardization(TransformerMixin, BaseEstimator):
    """Piecewise DS: each master channel from a window of target channels around it.

    Local maps need far fewer transfer samples than a full DS because each one has
    only ``2·half_window + 1`` inputs; near the spectrum's ends the window is shifted
    inwards so every window has the same width. Each window is a ridge regression
    shrunk towards the identity (see the module docstring); one relative strength is
    shared by all windows and chosen by leave-one-out over all of them.

    Parameters
    ----------
    half_window : int, default=5
        Channels on each side of the modelled channel (window width 2·h + 1).
    alpha : float or None, default=None
        Relative ridge strength, or ``None`` for leave-one-out choice.

    Attributes
    ----------
    alpha_, loo_rmse_, offset_, coef_ (n_channels, window), starts_ (n_channels,)
    """

    def __init__(self, half_window: int = 5, alpha: float | None = None):
        self.half_window = half_window
        self.alpha = alpha

    def _windows(self, X: np.ndarray) -> np.ndarray:
        return X[:, self.starts_[:, None] + np.arange(self.width_)[None, :]]  # (n, p, w)

    def fit(self, X, y=None, *, X_master=None, model=None) -> "PiecewiseDirectStandardization":
        """Fit on target transfer spectra ``X`` and ``X_master``; ``y``/``model`` as in DS."""
        X, Xm = _check_pair(X, X_master)
        y = _check_selector(X, y, model)
        if int(self.half_window) < 0:
            raise ValueError(f"half_window must be ≥ 0, got {self.half_window}")
        if self.alpha is not None and not float(self.alpha) >= 0:
            raise ValueError(f"alpha must be ≥ 0 or None, got {self.alpha}")
        k, p = X.shape
        self.width_ = min(2 * int(self.half_window) + 1, p)
        self.starts_ = np.clip(np.arange(p) - int(self.half_window), 0, p - self.width_)
        self.mean_target_ = X.mean(axis=0)
        diff = Xm - X
        self.offset_ = diff.mean(axis=0)
        alphas = DEFAULT_ALPHAS if self.alpha is None else (float(self.alpha),)
        if k < 2:
            self.alpha_, self.loo_rmse_ = np.inf, np.full(len(alphas), np.nan)
            self.coef_ = np.zeros((p, self.width_))
        else:
            Z = np.swapaxes(self._windows(X - self.mean_target_), 0, 1)  # (p, k, w)
            D = (diff - self.offset_).T[:, :, None]  # (p, k, 1)
            loo, V, filters, UtD = ridge_loo(Z, D, alphas)
            best, self.loo_rmse_ = _choose_alpha(np.swapaxes(loo[..., 0], 1, 2), Xm, y, model)
            self.alpha_ = float(alphas[best])
            self.coef_ = np.einsum("bwr,br,br->bw", V, filters[best], UtD[:, :, 0])
        self.n_features_in_ = p
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = check_spectra(X, "spectra", self.n_features_in_, "the map was fitted on")
        W = self._windows(X - self.mean_target_)  # (n, p, w)
        return X + self.offset_ + np.einsum("npw,pw->np", W, self.coef_)
