"""Prediction from ``z_chem``: property regression and nearest-master retrieval (SPEC §6.3).

Once the encoder maps master and target spectra of one sample to the same point of
``z_chem``, a calibration fitted on master codes applies to target codes unchanged.
Two kinds of regressor are offered — k-NN regression against the master calibration
set (no parameters beyond k; robust when the latent is well clustered) and a linear
head (ridge or PLS on standardised codes; better when the property varies smoothly
along a few latent directions) — and :class:`ZChemRegressor` picks one by K-fold
cross-validation on the calibration codes only, never on test spectra.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from spektron.data.spectra import validate_spectra

__all__ = ["HEADS", "NearestMasterRetriever", "ZChemRegressor", "make_head"]

HEADS: tuple[str, ...] = ("knn", "ridge", "pls")
"""Regression heads :class:`ZChemRegressor` can use (``"auto"`` picks one by CV)."""

_RIDGE_ALPHAS = np.logspace(-4, 4, 17)


def _check_codes(Z, name: str = "z_chem codes") -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2 or Z.shape[0] == 0 or Z.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n, d), got shape {Z.shape}")
    if not np.all(np.isfinite(Z)):
        raise ValueError(f"{name} contain NaN or inf")
    return Z


def make_head(name: str, n_samples: int, n_features: int, n_neighbors: int = 5, max_components: int = 10):
    """An unfitted scikit-learn regressor for head ``name`` sized for ``n_samples`` codes."""
    if name == "knn":
        k = max(1, min(int(n_neighbors), n_samples))
        return make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=k, weights="distance"))
    if name == "ridge":
        return make_pipeline(StandardScaler(), RidgeCV(alphas=_RIDGE_ALPHAS))
    if name == "pls":
        n_comp = max(1, min(int(max_components), n_features, n_samples - 1))
        return _PLSHead(max_components=n_comp)
    raise ValueError(f"unknown head {name!r}; expected one of {', '.join(HEADS)} or 'auto'")


class _PLSHead(BaseEstimator, RegressorMixin):
    """PLS on standardised codes with the number of components chosen by inner 5-fold CV."""

    def __init__(self, max_components: int = 10):
        self.max_components = max_components

    def fit(self, Z, y):
        Z, y = np.asarray(Z, dtype=float), np.asarray(y, dtype=float).ravel()
        self.scaler_ = StandardScaler().fit(Z)
        Zs = self.scaler_.transform(Z)
        folds = min(5, Zs.shape[0])
        # Components must fit the smallest *inner* training fold, not the whole set:
        # this head is itself cross-validated by ZChemRegressor(head="auto").
        smallest_train = Zs.shape[0] - int(np.ceil(Zs.shape[0] / max(folds, 1)))
        n_max = max(1, min(int(self.max_components), Zs.shape[1], smallest_train - 1))
        best, best_err = 1, np.inf
        if folds >= 2 and Zs.shape[0] > 3:
            cv = KFold(folds, shuffle=True, random_state=0)
            for n in range(1, n_max + 1):
                pred = cross_val_predict(PLSRegression(n_components=n, scale=False), Zs, y, cv=cv)
                err = float(np.mean((np.ravel(pred) - y) ** 2))
                if err < best_err - 1e-12:
                    best, best_err = n, err
        self.n_components_ = best
        self.pls_ = PLSRegression(n_components=best, scale=False).fit(Zs, y)
        return self

    def predict(self, Z):
        check_is_fitted(self, "pls_")
        return np.ravel(self.pls_.predict(self.scaler_.transform(np.asarray(Z, dtype=float))))


class ZChemRegressor(RegressorMixin, BaseEstimator):
    """Property regression from ``z_chem`` codes.

    Parameters
    ----------
    head : ``"auto"``, ``"knn"``, ``"ridge"``, ``"pls"`` or a tuple of these names
        ``"auto"`` picks the head with the lowest K-fold cross-validated RMSE on the
        calibration codes passed to ``fit``; a tuple picks among those heads only (the
        same folds and rule: the PLS head's inner CV can cost more than the rest).
    n_neighbors : int
        k of the k-NN head (distance-weighted; clipped to the calibration size).
    max_components : int
        Largest number of PLS components tried by the PLS head's inner CV.
    cv_folds : int
        Folds of the head selection.
    seed : int
        Fold shuffling.

    Attributes
    ----------
    head_ : str
        The head in use.
    cv_rmse_ : dict[str, float]
        Cross-validated RMSE per candidate head (only the chosen one when not ``auto``).
    model_ : fitted scikit-learn regressor.
    """

    def __init__(self, head: str | tuple[str, ...] = "auto", n_neighbors: int = 5, max_components: int = 10, cv_folds: int = 5,
                 seed: int = 0):
        self.head = head
        self.n_neighbors = n_neighbors
        self.max_components = max_components
        self.cv_folds = cv_folds
        self.seed = seed

    def fit(self, Z, y) -> "ZChemRegressor":
        Z, y = validate_spectra(self, Z, y, reset=True, name="z_chem codes", min_samples=2)
        candidates = self._candidates()
        self.cv_rmse_ = {}
        folds = min(int(self.cv_folds), Z.shape[0])
        if len(candidates) > 1 and folds >= 2:
            cv = KFold(folds, shuffle=True, random_state=self.seed)
            n_train = Z.shape[0] - int(np.ceil(Z.shape[0] / folds))
            for name in candidates:
                est = make_head(name, n_train, Z.shape[1], self.n_neighbors, self.max_components)
                pred = np.ravel(cross_val_predict(est, Z, y, cv=cv))
                self.cv_rmse_[name] = float(np.sqrt(np.mean((pred - y) ** 2)))
            self.head_ = min(self.cv_rmse_, key=self.cv_rmse_.get)
        else:
            self.head_ = candidates[0]
        self.model_ = clone(make_head(self.head_, Z.shape[0], Z.shape[1], self.n_neighbors, self.max_components))
        self.model_.fit(Z, y)
        return self

    def _candidates(self) -> tuple[str, ...]:
        names = HEADS if self.head == "auto" else (self.head,) if isinstance(self.head, str) else tuple(self.head)
        unknown = [name for name in names if name not in HEADS]
        if not names or unknown:
            raise ValueError(f"unknown head {self.head!r}; expected 'auto', one of {', '.join(HEADS)} "
                             "or a tuple of them")
        return names

    def predict(self, Z) -> np.ndarray:
        check_is_fitted(self, "model_")
        Z = validate_spectra(self, Z, reset=False, name="z_chem codes", fitted="the head was fitted on",
                             columns="dimensions")
        return np.ravel(self.model_.predict(Z))


class NearestMasterRetriever(BaseEstimator):
    """Cosine nearest neighbours of target codes among the master calibration codes.

    ``retrieve`` answers "which master sample is this target spectrum?": with a
    well-disentangled ``z_chem`` the same physical sample measured on the master.
    """

    def __init__(self, n_neighbors: int = 1):
        self.n_neighbors = n_neighbors

    def fit(self, Z) -> "NearestMasterRetriever":
        Z = _check_codes(Z, "master codes")
        k = int(self.n_neighbors)
        if not 1 <= k <= Z.shape[0]:
            raise ValueError(f"n_neighbors must lie in [1, {Z.shape[0]}], got {self.n_neighbors!r}")
        self.index_ = NearestNeighbors(n_neighbors=k, metric="cosine").fit(Z)
        self.n_features_in_ = Z.shape[1]
        return self

    def retrieve(self, Z) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, cosine distances)``, each (n, n_neighbors), nearest first."""
        check_is_fitted(self, "index_")
        Z = _check_codes(Z)
        if Z.shape[1] != self.n_features_in_:
            raise ValueError(f"codes have {Z.shape[1]} dimensions, the index holds {self.n_features_in_}")
        dist, idx = self.index_.kneighbors(Z)
        return idx, dist
