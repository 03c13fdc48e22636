"""PLS calibration with the number of latent variables chosen by repeated K-fold CV.

Every baseline in the benchmark predicts through this model, so it has to be both a
textbook PLS (the bound every transfer method is compared with) and fast: each CV fold
fits PLS once with the largest number of components and reads off the predictions of
every smaller model from the same fit, because PLS1 weights and loadings nest (the
first ``a`` columns of W, P, q are the ``a``-component model; Wold et al. 2001).

Reference: S. Wold, M. Sjöström, L. Eriksson, "PLS-regression: a basic tool of
chemometrics", Chemometr. Intell. Lab. Syst. 58, 109–130 (2001).
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import RepeatedKFold
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions  # scikit-learn's own constraint types
from sklearn.utils.validation import check_is_fitted

from spektron.data.spectra import validate_spectra

__all__ = ["PLSCalibration", "nested_pls_coefficients"]


def nested_pls_coefficients(pls: PLSRegression) -> np.ndarray:
    """Regression vectors of the 1 … A component models from one fitted PLS1.

    Returns an array (n_features, A) whose column ``a − 1`` is
    ``W_a (P_aᵀ W_a)⁻¹ q_aᵀ`` for centred, unscaled data (``scale=False``).
    """
    W, P, q = pls.x_weights_, pls.x_loadings_, pls.y_loadings_[0]
    A = W.shape[1]
    B = np.empty((W.shape[0], A))
    for a in range(1, A + 1):
        R = W[:, :a] @ np.linalg.pinv(P[:, :a].T @ W[:, :a])
        B[:, a - 1] = R @ q[:a]
    return B


class PLSCalibration(RegressorMixin, BaseEstimator):
    """PLS1 regression whose number of latent variables is picked by cross-validation.

    Parameters
    ----------
    max_components : int, default=20
        Largest number of latent variables tried (capped by the data's rank).
    cv_folds : int, default=5
        K in repeated K-fold cross-validation (capped by the number of samples).
    cv_repeats : int, default=3
        How many times the K-fold partition is redrawn; RMSECV is averaged over them.
    rule : {"min", "1se"}, default="min"
        ``"min"`` takes the minimum of RMSECV; ``"1se"`` the fewest components whose
        RMSECV lies within one standard error (over folds) of the minimum.
    preprocessing : transformer or None
        Applied before PLS; refitted inside every CV fold, so CV sees no leakage.
    random_state : int, default=0
        Seed of the CV partitions (fixed: a benchmark must be reproducible).

    Attributes
    ----------
    n_components_ : int
        The chosen number of latent variables.
    rmsecv_ : ndarray (A,)
        Cross-validated RMSE for 1 … A components.
    pls_ : PLSRegression
        The final model fitted on all calibration samples.
    preprocessing_ : transformer or None
        The fitted preprocessing.
    """

    _parameter_constraints = {
        "max_components": [Interval(Integral, 1, None, closed="left")],
        "cv_folds": [Interval(Integral, 2, None, closed="left")],
        "cv_repeats": [Interval(Integral, 1, None, closed="left")],
        "rule": [StrOptions({"min", "1se"})],
        "preprocessing": [HasMethods(["fit", "transform"]), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        max_components: int = 20,
        cv_folds: int = 5,
        cv_repeats: int = 3,
        rule: str = "min",
        preprocessing=None,
        random_state: int = 0,
    ):
        self.max_components = max_components
        self.cv_folds = cv_folds
        self.cv_repeats = cv_repeats
        self.rule = rule
        self.preprocessing = preprocessing
        self.random_state = random_state

    def _transform_pair(self, X_fit, X_other):
        if self.preprocessing is None:
            return None, X_fit, X_other
        prep = clone(self.preprocessing)
        Xf = prep.fit_transform(X_fit)
        return prep, Xf, None if X_other is None else prep.transform(X_other)

    def fit(self, X, y) -> "PLSCalibration":
        with warnings.catch_warnings():
            # NIPALS warns when y is explained before the last component: expected with a cap
            warnings.filterwarnings("ignore", message="y residual is constant")
            return self._fit(X, y)

    def _fit(self, X, y) -> "PLSCalibration":
        self._validate_params()
        X, y = validate_spectra(self, X, y, reset=True, name="calibration spectra", min_samples=2)
        n, p = X.shape
        folds = min(int(self.cv_folds), n)
        # a fold trains on n − ceil(n / folds) samples; centring costs one degree of freedom
        n_train_min = n - int(np.ceil(n / folds))
        A = max(1, min(int(self.max_components), n_train_min - 1, p))
        if n < 3 or n_train_min < 2:
            self.rmsecv_ = np.full(1, np.nan)
            self.n_components_ = 1
        else:
            cv = RepeatedKFold(n_splits=folds, n_repeats=int(self.cv_repeats), random_state=self.random_state)
            sq = np.zeros((int(self.cv_repeats), A))
            fold_rmse = []
            for f, (tr, va) in enumerate(cv.split(X)):
                _, Xtr, Xva = self._transform_pair(X[tr], X[va])
                pls = PLSRegression(n_components=A, scale=False).fit(Xtr, y[tr])
                B = nested_pls_coefficients(pls)
                pred = (Xva - Xtr.mean(axis=0)) @ B + y[tr].mean()  # (n_va, A)
                err = (pred - y[va, None]) ** 2
                sq[f // folds] += err.sum(axis=0)
                fold_rmse.append(np.sqrt(err.mean(axis=0)))
            self.rmsecv_ = np.sqrt(sq.sum(axis=0) / (n * int(self.cv_repeats)))
            best = int(np.argmin(self.rmsecv_))
            if self.rule == "1se":
                se = np.std(np.asarray(fold_rmse), axis=0, ddof=1) / np.sqrt(len(fold_rmse))
                best = int(np.flatnonzero(self.rmsecv_ <= self.rmsecv_[best] + se[best])[0])
            self.n_components_ = best + 1
        self.preprocessing_, Xp, _ = self._transform_pair(X, None)
        self.pls_ = PLSRegression(n_components=self.n_components_, scale=False).fit(Xp, y)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "pls_")
        X = validate_spectra(self, X, reset=False, fitted="the model was calibrated on")
        if self.preprocessing_ is not None:
            X = self.preprocessing_.transform(X)
        return self.pls_.predict(X).ravel()
