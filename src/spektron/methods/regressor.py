"""Any registered transfer method as a scikit-learn regressor.

The convention follows skada's ``fit(X, y, sample_domain=…)``: one matrix of spectra
from both instruments, ``sample_domain`` ≥ 1 for master rows and ≤ -1 for target rows,
``y`` NaN where a target spectrum has no reference value. Calibration transfer adds one
thing skada's API lacks — transfer *pairs*, the same sample measured on both
instruments — given by ``paired_with``: for a target row, the row of the same sample's
master spectrum (−1 for none). A labelled target row with a partner is a transfer pair;
every other target row is an unlabelled target spectrum (the set Spektron's test-time
training and the k = 0 methods learn from).

>>> import numpy as np
>>> from spektron.methods import TransferRegressor
>>> rng = np.random.default_rng(0)
>>> master = rng.normal(size=(30, 40)).cumsum(axis=1)
>>> y = master[:, 10] - master[:, 30]
>>> target = master + 0.05 * np.arange(40)             # the new instrument: a sloped baseline
>>> X = np.vstack([master, target[:3], target[20:]])   # 3 transfer pairs + 10 unlabelled
>>> y_all = np.concatenate([y, y[:3], np.full(10, np.nan)])
>>> domain = np.r_[np.ones(30), -np.ones(13)].astype(int)
>>> paired = np.r_[np.full(30, -1), [0, 1, 2], np.full(10, -1)]
>>> def rmsep(name):
...     model = TransferRegressor(name).fit(X, y_all, sample_domain=domain, paired_with=paired)
...     return float(np.sqrt(np.mean((model.predict(target[20:]) - y[20:]) ** 2)))
>>> rmsep("ds") < rmsep("none") / 2                     # direct standardisation from 3 pairs
True
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d

from spektron.data.spectra import validate_spectra
from spektron.methods.context import TransferContext
from spektron.methods.registry import get_method, method_spec

__all__ = ["TransferRegressor"]


class TransferRegressor(RegressorMixin, BaseEstimator):
    """A registered transfer method (``method``, constructed with ``params``) behind
    ``fit(X, y, sample_domain=None, paired_with=None)`` / ``predict(X_target)``.

    Parameters
    ----------
    method : str
        A registered name (``spektron.methods.available_methods()``).
    params : dict or None
        Constructor parameters of the method.
    axis : array (C,) or None
        The spectral axis (None: channel indices; only the encoder-based methods and
        resampling need a physical axis).
    unit : ``"nm"`` or ``"cm-1"``
    seed : int
        The context seed (the methods' own randomness).

    Without ``sample_domain`` every row is a master row: the method then sees no target
    instrument at all (what ``none`` does), which is how scikit-learn's generic checks
    and plain regression pipelines use it.

    Attributes
    ----------
    strategy_ : the fitted strategy; ``n_pairs_``, ``n_unlabelled_`` what it was given.
    """

    def __init__(self, method: str = "spektron", params: dict | None = None, axis=None, unit: str = "nm",
                 seed: int = 0):
        self.method = method
        self.params = params
        self.axis = axis
        self.unit = unit
        self.seed = seed

    def fit(self, X, y, sample_domain=None, paired_with=None) -> "TransferRegressor":
        spec = method_spec(self.method)  # unknown names fail here, with the list of known ones
        X = validate_spectra(self, X, reset=True, name="spectra", min_samples=2)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True).astype(float)
        if y.size != X.shape[0]:
            raise ValueError(f"y has {y.size} values for {X.shape[0]} spectra")
        domain = np.ones(X.shape[0], dtype=int) if sample_domain is None else np.asarray(sample_domain).ravel()
        if domain.size != X.shape[0] or np.any(domain == 0):
            raise ValueError("sample_domain needs one non-zero value per row: ≥ 1 for master rows, ≤ -1 for target rows")
        master = domain > 0
        partner = np.full(X.shape[0], -1) if paired_with is None else np.asarray(paired_with, dtype=int).ravel()
        if partner.size != X.shape[0]:
            raise ValueError(f"paired_with has {partner.size} values for {X.shape[0]} rows")
        is_pair = ~master & (partner >= 0) & np.isfinite(y)
        if np.any(partner[is_pair] >= X.shape[0]) or np.any(~master[partner[is_pair]]):
            raise ValueError("paired_with must point from target rows to master rows")
        if not np.all(np.isfinite(y[master])):
            raise ValueError("every master row needs a finite reference value (y)")
        unlabelled = ~master & ~is_pair
        axis = np.arange(X.shape[1], dtype=float) if self.axis is None else np.asarray(self.axis, dtype=float)
        pm, pt, py = (X[partner[is_pair]], X[is_pair], y[is_pair]) if is_pair.any() else (None, None, None)
        context = TransferContext(
            master_X=X[master], master_y=y[master], axis=axis, unit=self.unit,
            transfer_master_X=pm, transfer_target_X=pt, transfer_y=py,
            target_unlabelled_X=X[unlabelled] if unlabelled.any() else None, seed=int(self.seed))
        if spec.requires_pairs and not is_pair.any():
            raise ValueError(f"method {self.method!r} needs transfer pairs: target rows with a reference value "
                             "and a master partner (paired_with)")
        self.strategy_ = get_method(self.method, **dict(self.params or {})).fit(context)
        self.n_pairs_, self.n_unlabelled_ = int(is_pair.sum()), int(unlabelled.sum())
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "strategy_")
        X = validate_spectra(self, X, reset=False, name="target spectra", fitted="the method was fitted on")
        return self.strategy_.predict(X)
