"""The one contract every transfer method follows: ``fit(context)``, ``predict(X)``.

Classical baselines, the field's packages, Spektron and its ablations all derive from
:class:`TransferStrategy` and are fitted on a :class:`~spektron.methods.context.TransferContext`,
so the benchmark, ``spektron transfer`` and a saved model treat them alike.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from spektron.data.spectra import check_spectra
from spektron.methods.context import TransferContext

__all__ = ["TransferStrategy"]


class TransferStrategy(BaseEstimator):
    """Base class: a method that learns from a :class:`TransferContext`.

    Subclasses set ``name`` and ``requires_pairs`` and implement ``_fit(context)`` and
    ``_predict(X)``; the base class validates the context, the k ≥ 1 requirement and
    the channel count of the spectra to predict.
    """

    name: str = "strategy"
    requires_pairs: bool = False

    def fit(self, context: TransferContext) -> "TransferStrategy":
        if not isinstance(context, TransferContext):
            raise TypeError(f"{type(self).__name__}.fit expects a TransferContext, got {type(context).__name__}")
        if self.requires_pairs:
            context.require_pairs(self.name)
        self.n_features_in_ = context.n_channels
        self._fit(context)
        self.fitted_ = True
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "fitted_")
        X = check_spectra(X, "target spectra", self.n_features_in_, "the method was fitted on")
        return np.asarray(self._predict(X), dtype=float).ravel()

    def diagnostics(self) -> dict:
        """Scalars a benchmark record keeps beside the method's errors (what the fit decided
        from the data, e.g. whether the batch looked unlike the calibration set); none by default."""
        return {}

    def _fit(self, context: TransferContext) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
