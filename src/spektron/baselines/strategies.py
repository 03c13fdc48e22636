"""The classical transfer strategies behind one interface: ``fit(context)``, ``predict(X)``.

Each is a scikit-learn estimator (parameters in ``__init__``, fitted state in
attributes ending in ``_``) registered by name for the benchmark:

========  ==============================================================  =========
name      what it does                                                    pairs?
========  ==============================================================  =========
none      master PLS model applied to target spectra as they are          no
target    PLS calibrated on the target's own calibration set (the bound)  no
ds        ridge-regularised direct standardisation, then the master model yes
pds       piecewise direct standardisation, then the master model         yes
sst       spectral space transformation (chemotools), then the master     yes
sbc       slope/bias correction of the master model's predictions         yes
augment   PLS recalibrated on master calibration + k target transfer      yes
meancorr  target spectra shifted by the master − target mean spectrum      no
          (from unlabelled target spectra), then the master model
========  ==============================================================  =========

The master calibration is fitted through ``context.fit_master`` so that all the
strategies of one benchmark cell share one fit.
"""

from __future__ import annotations

import numpy as np
from chemotools.adaptation import SpectralSpaceTransform
from sklearn.model_selection import KFold

from spektron.baselines.calibration import PLSCalibration
from spektron.baselines.standardization import DirectStandardization, PiecewiseDirectStandardization
from spektron.methods.base import TransferStrategy
from spektron.methods.registry import register_method

__all__ = [
    "CalibratedStrategy",
    "NoTransfer",
    "TargetCalibration",
    "DirectStandardizationTransfer",
    "PiecewiseDirectStandardizationTransfer",
    "SpectralSpaceTransfer",
    "SlopeBiasCorrection",
    "AugmentedRecalibration",
    "MeanCorrection",
]


class CalibratedStrategy(TransferStrategy):
    """A strategy built on a master calibration: ``calibration`` (an estimator with
    ``fit``/``predict``), a :class:`PLSCalibration` with CV components when None."""

    def _calibration(self):
        cal = getattr(self, "calibration", None)
        return PLSCalibration() if cal is None else cal


@register_method("none", requires_pairs=False, description="master model applied to target spectra unchanged")
class NoTransfer(CalibratedStrategy):
    """The master calibration applied to target spectra as they are: the upper bound on error."""

    name = "none"
    requires_pairs = False

    def __init__(self, calibration=None):
        self.calibration = calibration

    def _fit(self, context):
        self.model_ = context.fit_master(self._calibration())

    def _predict(self, X):
        return self.model_.predict(X)


@register_method("target", requires_pairs=False, description="target's own calibration (lower bound, not a transfer)")
class TargetCalibration(CalibratedStrategy):
    """A PLS calibrated on the target instrument's own calibration set.

    Not a transfer method: it uses ``context.target_cal_X``/``target_cal_y``, which a
    real transfer would not have. It is the lower bound on error every table reports.
    """

    name = "target"
    requires_pairs = False

    def __init__(self, calibration=None):
        self.calibration = calibration

    def _fit(self, context):
        if context.target_cal_X is None:
            raise ValueError("method 'target' needs the target's own calibration set (context.target_cal_X/target_cal_y)")
        self.model_ = context.fit_cached(self._calibration(), context.target_cal_X, context.target_cal_y)

    def _predict(self, X):
        return self.model_.predict(X)


class _StandardizeThenPredict(CalibratedStrategy):
    """Map target spectra into the master's space, then apply the master model."""

    requires_pairs = True

    def _predict(self, X):
        return self.model_.predict(self.transform_.transform(X))


@register_method("ds", requires_pairs=True, description="direct standardisation (ridge, LOO-chosen) + master model")
class DirectStandardizationTransfer(_StandardizeThenPredict):
    """Direct standardisation (Wang et al. 1991), ridge-regularised towards the identity.

    Parameters
    ----------
    alpha : float or None
        Relative ridge strength; ``None`` = chosen by leave-one-out on the transfer
        samples (see :class:`~spektron.baselines.standardization.DirectStandardization`).
    criterion : {"prediction", "spectral"}
        LOO criterion: the error of the master model's predictions of the held-out
        transfer sample (default), or the error of its reconstructed master spectrum.
    calibration : estimator, default ``PLSCalibration()``
    """

    name = "ds"

    def __init__(self, alpha: float | None = None, criterion: str = "prediction", calibration=None):
        self.alpha = alpha
        self.criterion = criterion
        self.calibration = calibration

    def _make(self):
        return DirectStandardization(alpha=self.alpha)

    def _fit(self, context):
        if self.criterion not in ("prediction", "spectral"):
            raise ValueError(f"criterion must be 'prediction' or 'spectral', got {self.criterion!r}")
        self.model_ = context.fit_master(self._calibration())
        extra = {"model": self.model_} if self.criterion == "prediction" else {}
        y = context.transfer_y if extra else None
        self.transform_ = self._make().fit(context.transfer_target_X, y, X_master=context.transfer_master_X, **extra)


@register_method("pds", requires_pairs=True, description="piecewise direct standardisation (windowed ridge) + master model")
class PiecewiseDirectStandardizationTransfer(DirectStandardizationTransfer):
    """Piecewise DS (Wang et al. 1991; Bouveresse & Massart 1996): a local map per channel.

    Parameters as :class:`DirectStandardizationTransfer`, plus ``half_window``
    (channels each side; default 5, i.e. 11 channels ≈ 22 nm on corn).
    """

    name = "pds"

    def __init__(self, half_window: int = 5, alpha: float | None = None, criterion: str = "prediction", calibration=None):
        self.half_window = half_window
        super().__init__(alpha=alpha, criterion=criterion, calibration=calibration)

    def _make(self):
        return PiecewiseDirectStandardization(half_window=self.half_window, alpha=self.alpha)


class _OffsetOnly:
    """Additive correction x + (x̄_master − x̄_target): what any map reduces to at k = 1."""

    def __init__(self, offset: np.ndarray):
        self.offset = offset

    def transform(self, X):
        return X + self.offset


@register_method("sst", requires_pairs=True, description="spectral space transformation (chemotools) + master model")
class SpectralSpaceTransfer(_StandardizeThenPredict):
    """Spectral space transformation (Du et al. 2011) via chemotools, then the master model.

    The number of joint components is chosen by K-fold CV on the transfer samples
    (error of the master model's predictions on the held-out ones) when
    ``n_components`` is None. With fewer than 3 transfer samples there is no
    component to estimate beyond the mean difference, and SST reduces to an
    additive offset correction.

    Reference: W. Du, Z.-P. Chen, L.-J. Zhong et al., "Maintaining the predictive
    abilities of multivariate calibration models by spectral space transformation",
    Anal. Chim. Acta 690, 64–70 (2011).
    """

    name = "sst"

    def __init__(self, n_components: int | None = None, max_components: int = 8, cv_folds: int = 5, calibration=None):
        self.n_components = n_components
        self.max_components = max_components
        self.cv_folds = cv_folds
        self.calibration = calibration

    @staticmethod
    def _transformer(n: int, Xt: np.ndarray, Xm: np.ndarray):
        if n < 1:
            return _OffsetOnly(Xm.mean(axis=0) - Xt.mean(axis=0))
        return SpectralSpaceTransform(n_components=n).fit(Xt, X_source=Xm)

    def _fit(self, context):
        self.model_ = context.fit_master(self._calibration())
        Xt, Xm, y = context.transfer_target_X, context.transfer_master_X, context.transfer_y
        k = context.k
        if self.n_components is not None:
            n = int(self.n_components)
            if not 1 <= n <= max(k - 1, 0):
                raise ValueError(f"sst: n_components={n} needs 1 ≤ n_components ≤ k − 1 = {k - 1}")
        else:
            folds = min(int(self.cv_folds), k)
            n_max = min(int(self.max_components), k - int(np.ceil(k / max(folds, 1))) - 1) if folds >= 2 else 0
            if n_max < 1:
                n = 0
            else:
                cv = KFold(n_splits=folds, shuffle=True, random_state=context.seed)
                sse = np.zeros(n_max + 1)
                for tr, va in cv.split(Xt):
                    for n_c in range(n_max + 1):
                        t = self._transformer(n_c, Xt[tr], Xm[tr])
                        sse[n_c] += np.sum((self.model_.predict(t.transform(Xt[va])) - y[va]) ** 2)
                n = int(np.argmin(sse))
        self.n_components_ = n
        self.transform_ = self._transformer(n, Xt, Xm)


@register_method("sbc", requires_pairs=True, description="slope/bias correction of the master model's predictions")
class SlopeBiasCorrection(CalibratedStrategy):
    """Slope/bias correction: regress the transfer samples' reference values on the
    master model's predictions for their target spectra, and apply that line.

    With fewer than ``min_k_slope`` samples a slope is not estimable with any
    confidence, so only the bias is corrected (slope fixed at 1).

    Reference: E. Bouveresse, C. Hartmann, D. L. Massart, I. R. Last, K. A. Prebble,
    "Standardization of near-infrared spectrometric instruments", Anal. Chem. 68,
    982–990 (1996).
    """

    name = "sbc"
    requires_pairs = True

    def __init__(self, min_k_slope: int = 3, calibration=None):
        self.min_k_slope = min_k_slope
        self.calibration = calibration

    def _fit(self, context):
        self.model_ = context.fit_master(self._calibration())
        pred = self.model_.predict(context.transfer_target_X)
        y = context.transfer_y
        if context.k >= max(int(self.min_k_slope), 2) and np.var(pred) > 0:
            self.slope_, self.bias_ = (float(v) for v in np.polyfit(pred, y, 1))
        else:
            self.slope_, self.bias_ = 1.0, float(np.mean(y - pred))

    def _predict(self, X):
        return self.slope_ * self.model_.predict(X) + self.bias_


@register_method("augment", requires_pairs=True, description="PLS recalibrated on master calibration + k target transfer samples")
class AugmentedRecalibration(CalibratedStrategy):
    """Model update: recalibrate PLS on the master calibration set plus the k transfer
    samples as measured on the target (each repeated ``weight`` times), so the model
    learns to ignore the instrument difference the pairs reveal.
    """

    name = "augment"
    requires_pairs = True

    def __init__(self, weight: int = 1, calibration=None):
        self.weight = weight
        self.calibration = calibration

    def _fit(self, context):
        w = int(self.weight)
        if w < 1:
            raise ValueError(f"augment: weight must be an integer ≥ 1, got {self.weight}")
        X = np.vstack([context.master_X] + [context.transfer_target_X] * w)
        y = np.concatenate([context.master_y] + [context.transfer_y] * w)
        self.model_ = context.fit_cached(self._calibration(), X, y)

    def _predict(self, X):
        return self.model_.predict(X)


@register_method("meancorr", requires_pairs=False,
                 description="shift target spectra by the master − target mean spectrum (unlabelled), master model")
class MeanCorrection(CalibratedStrategy):
    """Instrument-wise mean centring: add ``x̄_master − x̄_target`` to every target
    spectrum, then apply the master model.

    The classical method that uses exactly what Spektron has at k = 0 — unlabelled
    target spectra, no reference values — so it is the fair k = 0 comparison. It
    removes any additive instrument difference that is the same for every sample
    (baseline offset, the mean effect of a small shift) and assumes the unlabelled
    target set samples the same population as the master calibration set.
    """

    name = "meancorr"
    requires_pairs = False

    def __init__(self, calibration=None):
        self.calibration = calibration

    def _fit(self, context):
        if context.target_unlabelled_X is None or len(context.target_unlabelled_X) == 0:
            raise ValueError("method 'meancorr' needs unlabelled target spectra (context.target_unlabelled_X)")
        self.model_ = context.fit_master(self._calibration())
        self.offset_ = context.master_X.mean(axis=0) - context.target_unlabelled_X.mean(axis=0)
        self.transform_ = _OffsetOnly(self.offset_)

    def _predict(self, X):
        return self.model_.predict(self.transform_.transform(X))
