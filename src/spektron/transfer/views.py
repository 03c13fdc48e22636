"""The nuisance-model calibration averaged over linear views of the spectra.

One penalised PLS reads the spectrum through one metric: its latent directions, and so
which chemistry it keeps and which nuisance it follows, depend on whether it sees the
absorbances or their derivative. A Savitzky–Golay first derivative damps the smooth,
baseline-like part of the per-sample instrument difference (most of what corn's and
sugarcane's pairs differ by) and sharpens the bands, at the price of noise. Neither view
is best everywhere, and choosing one per data set inside the protocol (by the pairs'
leave-one-out error or the master's cross-validation) was measured to be worse than
*averaging* them: the two calibrations err on different samples, and the mean of two
predictions is never worse than the mean of their errors (RMSE is convex). Measured on
corn (40 cells), sugarcane (36) and eight demo worlds (64), 10 / 10 / 5 random splits:
RMSEP 0.971, 0.987 and 0.937 × the raw view alone (docs/benchmarks.md, "Two views of the
spectra").

Every view is a *linear* map ``D`` of the spectrum (Savitzky–Golay smoothing or
derivatives, with the ``nearest`` edge mode), applied alike to the master set, the pairs,
the unlabelled target spectra and the spectra to predict; each view gets its own nuisance
model and calibration (:class:`~spektron.transfer.nuisance_transfer.NuisanceTransfer`), the
instrument response fitted in that view. Because each view's model is linear in its
input, the average is one linear calibration of the raw spectrum,
``ŷ = x · b + c`` with ``b = mean_v Dᵥᵀ bᵥ`` (:attr:`ViewAveragedTransfer.coef_`) — the
regression vector a chemometrician inspects, and the same predictions (tested).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from spektron.data.spectra import check_spectra
from spektron.preprocessing import make_preprocessing
from spektron.transfer.inputs import check_master, check_pairs
from spektron.transfer.nuisance_transfer import NuisanceTransfer

__all__ = ["DEFAULT_VIEWS", "LINEAR_STEPS", "ViewAveragedTransfer", "check_views"]

#: The raw absorbances and their Savitzky–Golay first derivative (15 points, quadratic).
DEFAULT_VIEWS = ("none", "sg1:15:2")
#: Preprocessing steps that are linear maps of one spectrum (what a view may chain).
LINEAR_STEPS = ("sg", "smooth", "sg1", "sg2")


def check_views(views) -> tuple[str, ...]:
    """The views as a tuple of specs, each ``"none"`` or a chain of linear steps."""
    if isinstance(views, str):
        views = (views,)
    views = tuple(str(v).strip().lower() for v in views)
    if not views:
        raise ValueError("views must name at least one view, e.g. ('none', 'sg1:15:2')")
    for spec in views:
        if spec in ("", "none"):
            continue
        for step in spec.split("+"):
            if step.split(":")[0].strip() not in LINEAR_STEPS:
                raise ValueError(f"view {spec!r}: step {step!r} is not a linear map of the spectrum; a view chains "
                                 f"{', '.join(LINEAR_STEPS)} (snv, msc and centring depend on the spectra)")
        make_preprocessing(spec)  # window and order errors, named
    if len(set(views)) != len(views):
        raise ValueError(f"views repeat: {views!r}")
    return views


def _window(transform) -> int:
    """The widest Savitzky–Golay window of a view's pipeline (1 for the raw spectra), read off
    the built steps so that the spec's defaults live in one place
    (:func:`~spektron.preprocessing.make_preprocessing`)."""
    if transform is None:
        return 1
    return max(int(getattr(step, "window_length", 1)) for _, step in transform.steps)


class ViewAveragedTransfer(BaseEstimator):
    """:class:`~spektron.transfer.nuisance_transfer.NuisanceTransfer` on each view, predictions averaged.

    Parameters
    ----------
    views : tuple of str, default :data:`DEFAULT_VIEWS`
        Linear views of the spectra (``"none"`` = the spectra themselves; else a chain of
        :data:`LINEAR_STEPS` in the :func:`~spektron.preprocessing.make_preprocessing` syntax).
        A view whose window is wider than a quarter of the channels is dropped at fit time
        (``dropped_views_``): a derivative over most of the axis is no derivative.
    estimator : NuisanceTransfer or None
        The calibration fitted in every view (cloned); None = ``NuisanceTransfer()``.

    Attributes
    ----------
    views_ : tuple of str — the views used.
    dropped_views_ : tuple of str — the views too wide for these spectra.
    estimators_ : list of NuisanceTransfer — one per view, in ``views_`` order.
    primary_ : NuisanceTransfer — the first view's (by default the raw spectra's): its
        diagnostics (weights, tests, response, offset) are what reports show.
    coef_ : (C,) and intercept_ : float — the average as one linear calibration of the
        raw spectrum (``predict(X) == X @ coef_ + intercept_``).
    """

    def __init__(self, views: tuple[str, ...] = DEFAULT_VIEWS, estimator: NuisanceTransfer | None = None):
        self.views = views
        self.estimator = estimator

    def _maps(self, n_channels: int):
        views = check_views(self.views)
        built = {v: make_preprocessing(v) for v in views}
        usable = [v for v in views if _window(built[v]) <= max(n_channels // 4, 1)]
        if not usable:
            raise ValueError(f"no view fits {n_channels} channels: every one of {views!r} has a window wider than a "
                             f"quarter of them; add 'none' or a narrower window")
        self.views_ = tuple(usable)
        self.dropped_views_ = tuple(v for v in views if v not in usable)
        self.transforms_ = [built[v] for v in self.views_]

    def _view(self, i: int, X):
        t = self.transforms_[i]
        return X if (X is None or t is None or len(X) == 0) else t.fit_transform(X)

    def fit(self, master_X, master_y, *, axis=None, unit: str = "nm", pairs=None,
            target_unlabelled=None) -> "ViewAveragedTransfer":
        """Fit one calibration per view; arguments as
        :meth:`~spektron.transfer.nuisance_transfer.NuisanceTransfer.fit`."""
        Xm, y = check_master(master_X, master_y)
        self.n_features_in_ = Xm.shape[1]
        pm, pt, py = check_pairs(pairs, self._spectra, self._spectra)
        Xu = None if target_unlabelled is None or not len(target_unlabelled) else self._spectra(
            target_unlabelled, "unlabelled target spectra")
        self._maps(Xm.shape[1])
        template = NuisanceTransfer() if self.estimator is None else self.estimator
        self.estimators_ = []
        for i in range(len(self.views_)):
            view_pairs = None if py is None else (self._view(i, pm), self._view(i, pt), py)
            est = clone(template).fit(self._view(i, Xm), y, axis=axis, unit=unit, pairs=view_pairs,
                                      target_unlabelled=self._view(i, Xu))
            self.estimators_.append(est)
        self._linearise()
        return self

    def adapt(self, target_unlabelled) -> "ViewAveragedTransfer":
        """Test-time training in every view (:meth:`NuisanceTransfer.adapt`); ``adaptation_``
        records the averaged prediction's offset and coefficient change."""
        check_is_fitted(self, "estimators_")
        Xu = self._spectra(target_unlabelled, "unlabelled target spectra")
        before = (self.intercept_, self.coef_.copy())
        for i, est in enumerate(self.estimators_):
            est.adapt(self._view(i, Xu))
        self._linearise()
        self.adaptation_ = {
            "n_spectra": int(Xu.shape[0]),
            "offset_change": float(self.intercept_ - before[0]),
            "coef_change": float(np.linalg.norm(self.coef_ - before[1]) / max(np.linalg.norm(before[1]), 1e-300)),
        }
        return self

    def _linearise(self) -> None:
        """``coef_`` and ``intercept_``: each view's model pulled back through its linear map
        (the map applied to the unit spectra gives its matrix)."""
        C = self.n_features_in_
        eye = np.eye(C)
        coef, intercept = np.zeros(C), 0.0
        for i, est in enumerate(self.estimators_):
            zero = est.predict(self._view(i, np.zeros((1, C))))[0]
            coef += est.predict(self._view(i, eye)) - zero
            intercept += zero
        n = len(self.estimators_)
        self.coef_, self.intercept_ = coef / n, float(intercept / n)

    @property
    def primary_(self) -> NuisanceTransfer:
        check_is_fitted(self, "estimators_")
        return self.estimators_[0]

    def _spectra(self, X, name: str) -> np.ndarray:
        return check_spectra(X, name, self.n_features_in_, "the master spectra have")

    def predict(self, X) -> np.ndarray:
        """Property predictions for target spectra, (n,): the mean over the views."""
        return self.view_predictions(X).mean(axis=0)

    def view_predictions(self, X) -> np.ndarray:
        """Each view's predictions, (n_views, n): how far the views agree on a spectrum."""
        check_is_fitted(self, "estimators_")
        X = self._spectra(X, "target spectra")
        return np.array([est.predict(self._view(i, X)) for i, est in enumerate(self.estimators_)])
