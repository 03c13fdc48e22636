"""The target instrument's response to the master's spectra, fitted on transfer pairs.

The nuisance model (:mod:`~spektron.transfer.nuisance`) treats the target as the master
plus an offset and a per-sample noise *independent of the chemistry*. A simulated
instrument (SPEC §4) is not that: a shift, a different resolution and a gain move every
band of every spectrum by an amount that depends on the spectrum itself, so the pair
differences are chemistry seen through an operator, and a penalty on their covariance
blinds the calibration to that chemistry. This module fits the operator instead — the
pretraining generator's own instrument model, relative to the master:

    target_i ≈ g · B(σ) S(δ) x_i + h · (B(σ) S(δ) x_i)'' + (ptp(x_i) / mean ptp) · Σ_j c_j P_j

(``S(δ)`` a shift by δ cm⁻¹, ``B(σ)`` a Gaussian resolution of σ cm⁻¹, the second
derivative ``h`` a sharpening or extra blur the Gaussian cannot give, a gain ``g`` and a
Legendre baseline scaled by each spectrum's peak-to-peak range, as the generator scales it).
δ and σ are found on a grid and refined (Nelder–Mead); the rest is linear least squares
for each (δ, σ).

Whether the pair differences *are* such an operator is measured, not assumed:
``explained_`` is the share of the pairs' centred difference variance the fitted model
removes, ``explained_loo_`` the same share with each pair predicted from the others. Measured
over 20 random draws of 5 pairs (docs/benchmarks.md): in sample, the synthetic demo worlds
give medians 0.94–0.99, but sugarcane reaches 0.94 by chance (and 0.99 with 3 pairs); out
of sample, sugarcane's seven directions stay ≤ 0.81, corn's ≤ 0.54, while seven of eight
demo worlds have medians 0.89–0.99 (the eighth 0.68).
"""

from __future__ import annotations

import copy

import numpy as np
from numpy.polynomial import legendre
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from spektron.data.instruments import SimulatedInstrument
from spektron.data.spectra import check_axis, check_spectra, normalise_unit

__all__ = ["InstrumentResponse", "physical_axis"]


def physical_axis(axis) -> bool:
    """Whether an axis can carry a shift in cm⁻¹: wavelengths or wavenumbers are positive
    (an axis of channel indices from 0 is not one)."""
    return axis is not None and bool(np.all(np.asarray(axis, dtype=float) > 0))


class InstrumentResponse(BaseEstimator):
    """Master → target instrument operator (shift, resolution, gain, baseline) from pairs.

    Parameters
    ----------
    baseline_order : int, default 3
        Legendre order of the target's additive baseline.
    max_shift_cm1 : float, default 8.0
        Largest shift searched (either sign), cm⁻¹.
    max_broadening_cm1 : float, default 10.0
        Largest Gaussian resolution σ searched, cm⁻¹.
    sharpen : bool, default True
        Fit the second-derivative term (a target sharper than the master, or a blur that
        is not Gaussian).
    range_scaled_baseline : bool, default True
        Scale the baseline by each spectrum's peak-to-peak range (the generator's
        convention); False: the same baseline for every spectrum.
    refine_above : float, default 0.5
        The grid's best (δ, σ) is refined (Nelder–Mead) only when it already explains this
        share of the pairs' centred differences: refining moves δ and σ by less than a grid
        step, which does not turn pairs that show no operator into pairs that do, and it is
        most of the fitting time.

    Attributes
    ----------
    shift_cm1_, broadening_cm1_ : float — the fitted δ and σ.
    gain_, sharpen_ : float — g and h.
    baseline_ : (C,) — the baseline shape at the mean range.
    explained_ : float — share of the pairs' centred difference variance the model removes
        (1 − residual / difference, both centred across pairs; negative when it adds error).
    explained_loo_ : float — the same share out of sample: each pair predicted from the others
        (the linear part refitted, δ and σ kept) against the additive model (the others' mean
        difference); NaN below 3 pairs. A few pairs' differences can be explained by chance
        in sample, much less out of it.
    noise_sd_ : float — white-noise level of the pairs' residuals (second differences),
        what the target adds that the master spectra do not carry.
    """

    def __init__(self, baseline_order: int = 3, max_shift_cm1: float = 8.0, max_broadening_cm1: float = 10.0,
                 sharpen: bool = True, range_scaled_baseline: bool = True, refine_above: float = 0.5):
        self.baseline_order = baseline_order
        self.max_shift_cm1 = max_shift_cm1
        self.max_broadening_cm1 = max_broadening_cm1
        self.sharpen = sharpen
        self.range_scaled_baseline = range_scaled_baseline
        self.refine_above = refine_above

    # ------------------------------------------------------------------ fit
    def fit(self, master_X, target_X, *, axis, unit: str = "nm") -> "InstrumentResponse":
        """Fit the operator on paired spectra: row i of both is the same sample (k ≥ 1)."""
        Xm = check_spectra(master_X, name="master pair spectra")
        Xt = check_spectra(target_X, name="target pair spectra")
        if Xm.shape != Xt.shape:
            raise ValueError(f"master and target pair spectra differ in shape: {Xm.shape} vs {Xt.shape}")
        if int(self.baseline_order) != self.baseline_order or self.baseline_order < 0:
            raise ValueError(f"baseline_order must be a non-negative integer, got {self.baseline_order!r}")
        if not (self.max_shift_cm1 >= 0 and self.max_broadening_cm1 >= 0):
            raise ValueError("max_shift_cm1 and max_broadening_cm1 must be >= 0")
        self.axis_ = check_axis(axis, Xm.shape[1], name="pair axis")
        if not physical_axis(self.axis_):
            raise ValueError("pair axis must hold positive wavelengths or wavenumbers to fit a shift in cm-1, "
                             f"got values from {self.axis_.min():g}")
        self.unit_ = normalise_unit(unit)
        t = np.linspace(-1.0, 1.0, Xm.shape[1])
        self._legendre = legendre.legvander(t, int(self.baseline_order))  # (C, order + 1)
        self._ops: dict = {}
        self._range_mean = float(np.mean(np.ptp(Xm, axis=1))) if self.range_scaled_baseline else 1.0
        target = Xt.reshape(-1)
        scale = max(float(target @ target), 1e-300)

        def loss(params) -> float:
            return self._solve(Xm, target, *params)[0] / scale

        grid = [(d, s) for d in np.linspace(-self.max_shift_cm1, self.max_shift_cm1, 17)
                for s in np.linspace(0.0, self.max_broadening_cm1, 6)]
        self._set(Xm, target, *min(grid, key=loss))
        if self._explained(Xm, Xt) >= self.refine_above:
            best = minimize(loss, np.array([self.shift_cm1_, self.broadening_cm1_]), method="Nelder-Mead",
                            options={"xatol": 1e-2, "fatol": 1e-12, "maxiter": 200})
            self._set(Xm, target, float(best.x[0]), float(best.x[1]))
        self._describe(Xm, Xt)
        # keep the fitted pair's two operators only: the search's dozens are not needed again
        fitted = {(float(self.shift_cm1_), 0.0), (0.0, float(self.broadening_cm1_))}
        self._ops = {key: op for key, op in self._ops.items() if key in fitted}
        return self

    def refit_linear(self, master_X, target_X) -> "InstrumentResponse":
        """A copy with δ and σ kept and the linear part (gain, sharpening, baseline), the
        noise level and the explained shares refitted on these pairs: the response without
        a held-out pair at the cost of one least-squares solve (δ and σ are two numbers a
        single pair barely moves; their search is most of :meth:`fit`'s time)."""
        check_is_fitted(self, "coef_")
        Xm = check_spectra(master_X, name="master pair spectra")
        Xt = check_spectra(target_X, name="target pair spectra")
        if Xm.shape != Xt.shape or Xm.shape[1] != self.axis_.size:
            raise ValueError(f"pair spectra must both be (k, {self.axis_.size}), got {Xm.shape} and {Xt.shape}")
        new = copy.copy(self)  # shares the operator cache: the same axis, δ and σ
        new._set(Xm, Xt.reshape(-1), self.shift_cm1_, self.broadening_cm1_)
        new._describe(Xm, Xt)
        return new

    def _describe(self, Xm: np.ndarray, Xt: np.ndarray) -> None:
        """The shares explained, the residual noise level and the pair count of the fit."""
        self.explained_ = self._explained(Xm, Xt)
        self.explained_loo_ = self._explained_loo(Xm, Xt)
        residual = Xt - self.transform(Xm)
        second = np.diff(residual, n=2, axis=1)  # white noise of sd s has second differences of sd s√6
        self.noise_sd_ = float(np.sqrt(np.mean(second**2) / 6.0)) if second.size else 0.0
        self.n_pairs_ = int(Xm.shape[0])

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: the instance keeps its cache
        state.pop("_ops", None)  # operators are rebuilt on demand, not kept in a saved model
        return state

    def _operator(self, shift: float, sigma: float):
        """The generator's own operator for a pure shift (σ = 0) or a pure resolution (δ = 0),
        cached: the grid reuses each δ and σ, and every transform after the fit the fitted pair."""
        key = (float(shift), float(sigma))
        cache = self.__dict__.setdefault("_ops", {})
        op = cache.get(key)
        if op is None:
            op = SimulatedInstrument("response", shift_cm1=shift, broadening_cm1=sigma, baseline_coeffs=(0.0,)
                                     ).operator(self.axis_, self.unit_)
            if len(cache) >= 64:  # the grid's 17 + 6; the refinement's are used once each
                cache.clear()
            cache[key] = op
        return op

    def _set(self, X: np.ndarray, target: np.ndarray, shift: float, sigma: float) -> None:
        _, coef = self._solve(X, target, shift, sigma)
        self.shift_cm1_, self.broadening_cm1_ = float(shift), abs(float(sigma))
        self.coef_ = coef
        self.gain_ = float(coef[0])
        self.sharpen_ = float(coef[1]) if self.sharpen else 0.0
        self.baseline_ = self._legendre @ coef[2 if self.sharpen else 1:]

    def _explained(self, Xm: np.ndarray, Xt: np.ndarray) -> float:
        """1 − (centred residual) / (centred pair difference), summed over pairs and channels."""
        residual, diff = Xt - self.transform(Xm), Xt - Xm
        centred = np.sum((diff - diff.mean(axis=0)) ** 2)
        left = np.sum((residual - residual.mean(axis=0)) ** 2)
        return float(1.0 - left / centred) if centred > 0 else 0.0

    def _explained_loo(self, Xm: np.ndarray, Xt: np.ndarray) -> float:
        """The same share out of sample: each pair's target spectrum predicted by the
        operator's linear part fitted on the other pairs (δ and σ kept), against the
        additive model's prediction from them (the others' mean difference). NaN below 3 pairs."""
        k = Xm.shape[0]
        if k < 3:
            return float("nan")
        design = self._design(Xm, self.shift_cm1_, self.broadening_cm1_)  # (k, C, p)
        left = total = 0.0
        for j in range(k):
            rest = np.arange(k) != j
            coef, *_ = np.linalg.lstsq(design[rest].reshape(-1, design.shape[2]), Xt[rest].reshape(-1), rcond=None)
            r = Xt[j] - design[j] @ coef
            d = (Xt[j] - Xm[j]) - (Xt[rest] - Xm[rest]).mean(axis=0)
            left, total = left + float(r @ r), total + float(d @ d)
        return float(1.0 - left / total) if total > 0 else 0.0

    def _design(self, X: np.ndarray, shift: float, sigma: float) -> np.ndarray:
        """(n, C, p): per spectrum, the columns the coefficients multiply — the operator's
        output, its second derivative (``sharpen``) and the range-scaled Legendre baseline."""
        # the generator's own operator: shift, then Gaussian resolution (the grid reuses each σ)
        OX = np.asarray((self._operator(0.0, abs(sigma)) @ self._operator(shift, 0.0) @ X.T).T)
        cols = [OX[:, :, None]]
        if self.sharpen:
            cols.append(np.gradient(np.gradient(OX, axis=1), axis=1)[:, :, None])
        baseline = self._weights(X)[:, None, None] * self._legendre[None, :, :]
        return np.concatenate(cols + [baseline], axis=2)

    def _weights(self, X: np.ndarray) -> np.ndarray:
        if not self.range_scaled_baseline:
            return np.ones(X.shape[0])
        return np.ptp(X, axis=1) / max(self._range_mean, 1e-300)

    def _solve(self, X: np.ndarray, target: np.ndarray, shift: float, sigma: float) -> tuple[float, np.ndarray]:
        design = self._design(X, shift, sigma)
        A = design.reshape(-1, design.shape[2])
        coef, *_ = np.linalg.lstsq(A, target, rcond=None)
        r = target - A @ coef
        return float(r @ r), coef

    # ------------------------------------------------------------ transform
    def transform(self, X) -> np.ndarray:
        """Master spectra as the target instrument would record them (noiseless)."""
        check_is_fitted(self, "coef_")
        X = check_spectra(X, name="master spectra")
        if X.shape[1] != self.axis_.size:
            raise ValueError(f"spectra have {X.shape[1]} channels, the response was fitted on {self.axis_.size}")
        return self._design(X, self.shift_cm1_, self.broadening_cm1_) @ self.coef_
