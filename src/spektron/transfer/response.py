"""The target instrument's response to the master's spectra, fitted on transfer pairs.

The nuisance model (:mod:`~spektron.transfer.nuisance`) treats the target as the master
plus an offset and a per-sample noise *independent of the chemistry*. A simulated
instrument (SPEC §4) is not that: a shift, a different resolution and a gain move every
band of every spectrum by an amount that depends on the spectrum itself, so the pair
differences are chemistry seen through an operator, and a penalty on their covariance
blinds the calibration to that chemistry. This module fits the operator instead — the
pretraining generator's own instrument model, relative to the master:

    target_i ≈ g · B(σ) S(δ) x_i + h · (B(σ) S(δ) x_i)'' + s · t ⊙ (B(σ) S(δ) x_i)'
               + (ptp(x_i) / mean ptp) · Σ_j c_j P_j

(``S(δ)`` a shift by δ cm⁻¹, ``B(σ)`` a Gaussian resolution of σ cm⁻¹ — or both in nm, as a
grating instrument's are, on a wavelength axis where that fits better (``scale``) —, the second
derivative ``h`` a sharpening or extra blur the Gaussian cannot give, the first derivative
along the axis times the axis position ``t`` ∈ [−1, 1] a shift that grows along the axis — a
grating's wavelength scale stretched as well as offset (``stretch``) —, a gain ``g`` and a
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
from spektron.data.spectra import axis_position, check_axis, check_spectra, normalise_unit

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
    scale : {"auto", "wavenumber", "axis"}, default "auto"
        What the shift and the resolution are constant in. ``"wavenumber"``: cm⁻¹, as in an
        FT instrument and the simulated instruments. ``"axis"``: the axis's own unit — on a
        wavelength axis, nm, as a grating instrument's wavelength error and slit bandpass are;
        the two ranges above are then converted at the axis's centre (Δλ = λ_c² Δν). A shift
        of 1 nm is 28 cm⁻¹ at 600 nm and 1.6 cm⁻¹ at 2500 nm, so neither model can stand for
        the other across a NIR range. ``"auto"``: on a wavelength axis both are fitted and the
        one with the lower residual is kept (the same number of parameters); on a wavenumber
        axis the two are the same.
    sharpen : bool, default True
        Fit the second-derivative term (a target sharper than the master, or a blur that
        is not Gaussian).
    range_scaled_baseline : bool, default True
        Scale the baseline by each spectrum's peak-to-peak range (the generator's
        convention); False: the same baseline for every spectrum.
    fixed_baseline : bool or "auto", default "auto"
        With the range-scaled baseline, fit also one that is the same on every spectrum (of
        the same order): a real unit's detector offset or stray light does not scale with the
        sample. Without it a constant offset leaves a residual that grows with each spectrum's
        range, and an operator that is otherwise exact fails the gate (corn m5 shifted by
        0.6 nm, blurred by 2 nm and offset by 0.01: out-of-sample share 0.23–0.47 and residual
        7–16× white noise without it, 0.89–0.95 and 1.0× with it). ``"auto"``: kept only when
        it predicts each pair from the others better (δ and σ found with it); with three pairs
        the two baselines fit the other two pairs' exactly and extrapolate to the third
        (always on, the demo worlds lost 19 % at k = 3, a cell 2.1×).
    stretch : bool or "auto", default "auto"
        Fit a shift that grows linearly along the axis (in the axis's unit: zero at its centre,
        ``stretch_`` at its upper end), to first order: the column ``t ⊙ ∂(B S x)/∂a``. Two
        units of one grating model differ by a wavelength scale that is offset *and* stretched
        (its calibration is a line through reference peaks); the constant δ alone leaves the
        stretch's part, which grows with the bands' slopes (corn m5 with its scale off by
        0.2 nm at the centre, −0.4 and +0.8 nm at the ends: never mapped without it, mapped
        with a floor ratio of 1.0 with it).
        It is tried at the δ and σ the search found without it; ``"auto"``: kept when it
        predicts each pair from the others better, from three pairs on, and, once δ and σ are
        refined with it, no larger than the refinement's bound on δ (twice ``max_shift_cm1``,
        in the axis's unit at its centre): a larger one is no stretch but a slope fitting other
        structure.
    refine_above : float or None, default None
        The grid's best (δ, σ) is refined (Nelder–Mead) only when it already explains this
        share of the pairs' centred differences; None (the default) always refines. A
        threshold saves about 0.03 s per fit (ten corn pairs) but leaves δ on the grid when
        the pairs' differences are mostly white noise, as they are for a small shift: the
        operator then leaves structure the noise floor test (``floor_ratio_``) sees.

    Attributes
    ----------
    scale_ : str — ``"wavenumber"`` or ``"axis"``: which model was fitted (``scale``).
    fixed_baseline_ : bool — whether the fixed baseline was fitted (``fixed_baseline``).
    stretch_ : float — the fitted stretch, in the axis's unit (``unit_``): features move by
        ``stretch_ · t(a)`` beyond δ, positive up the axis (as ``shift_`` on the axis scale;
        on the wavenumber scale of a nm axis, δ's positive direction is up in cm⁻¹, down in nm),
        so ``stretch_`` is the extra shift at the axis's upper end and ``−stretch_`` at its
        lower end; 0 when not fitted (``stretch_fitted_`` False).
    shift_, broadening_ : float — the fitted δ and σ, in ``shift_unit_`` (``"cm-1"``, or the
        axis's ``"nm"`` with the axis scale).
    shift_cm1_, broadening_cm1_ : float — the same in cm⁻¹ (at the axis's centre for the axis
        scale).
    gain_, sharpen_ : float — g and h.
    baseline_ : (C,) — the baseline shape at the mean range.
    explained_ : float — share of the pairs' centred difference variance the model removes
        (1 − residual / difference, both centred across pairs; negative when it adds error).
    explained_loo_ : float — the same share out of sample: each pair predicted from the others
        (the linear part refitted, δ and σ kept) against the additive model (the others' mean
        difference); NaN below 3 pairs. A few pairs' differences can be explained by chance
        in sample, much less out of it.
    noise_sd_ : float — white-noise level of the pairs' residuals (second differences).
    floor_ratio_ : float — the out-of-sample residual (each pair predicted from the others, as
        for ``explained_loo_``) over what white noise at ``noise_sd_`` would leave: near 1 when
        the operator leaves nothing but noise, however small a share of the differences it
        explains (a small shift whose pairs differ mostly by noise); NaN below 3 pairs.
    """

    def __init__(self, baseline_order: int = 3, max_shift_cm1: float = 8.0, max_broadening_cm1: float = 10.0,
                 scale: str = "auto", sharpen: bool = True, range_scaled_baseline: bool = True,
                 fixed_baseline: bool | str = "auto", stretch: bool | str = "auto",
                 refine_above: float | None = None):
        self.baseline_order = baseline_order
        self.max_shift_cm1 = max_shift_cm1
        self.max_broadening_cm1 = max_broadening_cm1
        self.scale = scale
        self.sharpen = sharpen
        self.range_scaled_baseline = range_scaled_baseline
        self.fixed_baseline = fixed_baseline
        self.stretch = stretch
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
        if self.scale not in ("auto", "wavenumber", "axis"):
            raise ValueError(f"scale must be 'auto', 'wavenumber' or 'axis', got {self.scale!r}")
        for name in ("fixed_baseline", "stretch"):
            if getattr(self, name) not in (True, False, "auto"):
                raise ValueError(f"{name} must be True, False or 'auto', got {getattr(self, name)!r}")
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
        self.fixed_baseline_ = bool(self.range_scaled_baseline and self.fixed_baseline)  # "auto": on for the search
        self.stretch_fitted_ = False  # tried after the search, from where it ended (below)
        fits = [self._search(Xm, Xt, scale) for scale in self._scales()]
        _, self.scale_, shift, sigma = min(fits, key=lambda fit: fit[0])
        self._set(Xm, target, shift, sigma)
        # with fewer than three others the two baselines fit them exactly and extrapolate to the held-out one
        if self._keep_if_better(Xm, Xt, "fixed_baseline_", auto=self.fixed_baseline == "auto", min_pairs=4):
            self._set(Xm, target, shift, sigma)  # coef_ still holds the fit with it
        if self.stretch:
            # the stretch is a linear term at the search's δ and σ, kept when it predicts held-out
            # pairs better and then refined with them. Searched together from the start, it moved
            # the search between the blur σ and the sharpening h, two near-equal fits of the same
            # pairs, and the other one can predict held-out pairs worse (a demo world: 3×)
            self.stretch_fitted_ = True
            auto = self.stretch == "auto"
            if not self._keep_if_better(Xm, Xt, "stretch_fitted_", auto=auto, min_pairs=3):
                self._refine(Xm, target)  # when dropped, coef_ still holds the fit without it
                if auto and abs(self.stretch_) > self._stretch_limit():
                    # beyond the shifts searched the first-order term is no stretch but a slope
                    # chasing other structure (sugarcane: −14 nm, a false pass that cost 3.8×)
                    self.stretch_fitted_ = False
                    self._set(Xm, target, shift, sigma)
        self._describe(Xm, Xt)
        # keep the fitted pair's two operators only: the search's dozens are not needed again
        fitted = {(self._op_unit, float(self.shift_), 0.0), (self._op_unit, 0.0, float(self.broadening_))}
        self._ops = {key: op for key, op in self._ops.items() if key in fitted}
        return self

    def _keep_if_better(self, Xm: np.ndarray, Xt: np.ndarray, attr: str, auto: bool, min_pairs: int) -> bool:
        """For an "auto" term that is in the design (``attr`` true): keep it only when it
        predicts each pair from the others better (δ and σ as found); returns whether it was
        dropped."""
        if not auto or not getattr(self, attr):
            return False
        keep = False
        if Xm.shape[0] >= min_pairs:
            with_term = self._loo_residual(Xm, Xt)[0]
            setattr(self, attr, False)
            keep = with_term < self._loo_residual(Xm, Xt)[0]
        setattr(self, attr, keep)
        return not keep

    def _stretch_limit(self) -> float:
        """The largest stretch kept by "auto", in the axis's unit: the refinement's bound on δ
        (twice ``max_shift_cm1``), at the axis's centre for a wavelength axis."""
        per_cm1 = self._nm_per_cm1() if self.unit_ == "nm" else 1.0
        return 2.0 * float(self.max_shift_cm1) * per_cm1

    def _scales(self) -> list[str]:
        if self.scale != "auto":
            return [self.scale]
        return ["wavenumber", "axis"] if self.unit_ == "nm" else ["wavenumber"]

    def _search(self, Xm: np.ndarray, Xt: np.ndarray, scale: str) -> tuple[float, str, float, float]:
        """Grid then Nelder–Mead over (δ, σ) in one scale; returns (residual, scale, δ, σ)."""
        self.scale_ = scale
        target = Xt.reshape(-1)
        max_shift, max_sigma = self._ranges()
        grid = [(d, s) for d in np.linspace(-max_shift, max_shift, 17) for s in np.linspace(0.0, max_sigma, 6)]
        residual = self._set(Xm, target, *min(grid, key=self._loss(Xm, target)))
        if self.refine_above is None or self._explained(Xm, Xt) >= self.refine_above:
            residual = self._refine(Xm, target)
        return residual, scale, self.shift_, self.broadening_

    def _refine(self, Xm: np.ndarray, target: np.ndarray) -> float:
        """Nelder–Mead over (δ, σ) from the current fit, up to twice the grid's box: a shift just
        beyond the grid is still found, while pairs that show no operator do not send the
        optimiser far off chasing their baselines. Keeps the result; returns its residual."""
        max_shift, max_sigma = self._ranges()
        best = minimize(self._loss(Xm, target), np.array([self.shift_, self.broadening_]), method="Nelder-Mead",
                        bounds=[(-2.0 * max_shift, 2.0 * max_shift), (0.0, 2.0 * max_sigma)],
                        options={"xatol": 1e-2 * self._per_cm1(), "fatol": 1e-12, "maxiter": 200})
        return self._set(Xm, target, float(best.x[0]), float(best.x[1]))

    def _ranges(self) -> tuple[float, float]:
        """The grid's largest |δ| and σ in the fitted scale's unit: stated in cm⁻¹, the same in
        nm at the axis's centre."""
        factor = self._per_cm1()
        return self.max_shift_cm1 * factor, self.max_broadening_cm1 * factor

    def _loss(self, Xm: np.ndarray, target: np.ndarray):
        """The search's objective at (δ, σ): the linear part's residual relative to the target's
        sum of squares."""
        scale_ss = max(float(target @ target), 1e-300)
        return lambda params: self._solve(Xm, target, *params)[0] / scale_ss

    @property
    def _op_unit(self) -> str:
        """The unit the operator is built in: the axis's own for the wavenumber scale (nm is
        converted to cm⁻¹ there), and the axis values as they stand for the axis scale."""
        return "cm-1" if self.scale_ == "axis" else self.unit_

    @property
    def _in_nm(self) -> bool:
        """Whether δ and σ are in nm: the axis scale on a wavelength axis."""
        return self.scale_ == "axis" and self.unit_ == "nm"

    def _per_cm1(self) -> float:
        """Units of the fitted δ and σ per cm⁻¹: nm per cm⁻¹ at the axis's centre when they are
        in nm, else 1."""
        return self._nm_per_cm1() if self._in_nm else 1.0

    def _nm_per_cm1(self) -> float:
        """nm per cm⁻¹ at the (wavelength) axis's centre: Δλ = λ² Δν · 1e-7."""
        centre = 0.5 * (float(self.axis_.min()) + float(self.axis_.max()))
        return centre * centre * 1e-7

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
        new = copy.copy(self)  # shares the operator cache: the same axis, scale, δ and σ
        new._set(Xm, Xt.reshape(-1), self.shift_, self.broadening_)
        new._describe(Xm, Xt)
        return new

    def _describe(self, Xm: np.ndarray, Xt: np.ndarray) -> None:
        """The shares explained, the residual noise level and the pair count of the fit."""
        self.explained_ = self._explained(Xm, Xt)
        residual = Xt - self.transform(Xm)
        second = np.diff(residual, n=2, axis=1)  # white noise of sd s has second differences of sd s√6
        self.noise_sd_ = float(np.sqrt(np.mean(second**2) / 6.0)) if second.size else 0.0
        self.n_pairs_ = int(Xm.shape[0])
        self.explained_loo_ = self.floor_ratio_ = float("nan")
        if self.n_pairs_ >= 3:  # out of sample: each pair from the operator's linear part refitted on the others
            left, total = self._loo_residual(Xm, Xt)
            self.explained_loo_ = float(1.0 - left / total) if total > 0 else 0.0
            floor = Xm.size * self.noise_sd_**2
            self.floor_ratio_ = float(left / floor) if floor > 0 else float("inf")

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: the instance keeps its cache
        state.pop("_ops", None)  # operators are rebuilt on demand, not kept in a saved model
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "coef_" in state and "scale_" not in state:  # saved before the axis scale existed
            self.scale_, self.shift_, self.broadening_ = "wavenumber", self.shift_cm1_, self.broadening_cm1_
            self.shift_unit_, self.floor_ratio_ = "cm-1", float("nan")
        if "fixed_baseline" not in state:  # saved before the fixed baseline existed: fitted without it
            self.fixed_baseline = False
        if "coef_" in state and "fixed_baseline_" not in state:
            self.fixed_baseline_ = False
        if "stretch" not in state:  # saved before the stretch existed: fitted without it
            self.stretch = False
        if "coef_" in state and "stretch_fitted_" not in state:
            self.stretch_fitted_, self.stretch_ = False, 0.0

    def _operator(self, shift: float, sigma: float):
        """The generator's own operator for a pure shift (σ = 0) or a pure resolution (δ = 0),
        cached: the grid reuses each δ and σ, and every transform after the fit the fitted pair."""
        key = (self._op_unit, float(shift), float(sigma))
        cache = self.__dict__.setdefault("_ops", {})
        op = cache.get(key)
        if op is None:
            op = SimulatedInstrument("response", shift_cm1=shift, broadening_cm1=sigma, baseline_coeffs=(0.0,)
                                     ).operator(self.axis_, self._op_unit)
            if len(cache) >= 64:  # the grid's 17 + 6 per scale; the refinement's are used once each
                cache.clear()
            cache[key] = op
        return op

    def _set(self, X: np.ndarray, target: np.ndarray, shift: float, sigma: float) -> float:
        """Fit the linear part at (δ, σ) and keep it; returns the residual sum of squares."""
        residual, coef = self._solve(X, target, shift, sigma)
        self.shift_, self.broadening_ = float(shift), abs(float(sigma))
        per = self._per_cm1()
        self.shift_unit_ = "nm" if self._in_nm else "cm-1"
        self.shift_cm1_, self.broadening_cm1_ = self.shift_ / per, self.broadening_ / per
        self.coef_ = coef
        self.gain_ = float(coef[0])
        self.sharpen_ = float(coef[1]) if self.sharpen else 0.0
        first = 2 if self.sharpen else 1
        self.stretch_ = 0.0
        if self.stretch_fitted_:  # g·Ox + c·t·(Ox)' ≈ g·(Ox)(a + (c/g)·t): features moved by −(c/g)·t
            self.stretch_ = float(-coef[first] / coef[0]) if coef[0] != 0 else 0.0
            first += 1
        # at the mean range the scaled and the fixed baseline add up
        parts = coef[first:].reshape(-1, self._legendre.shape[1])
        self.baseline_ = self._legendre @ parts.sum(axis=0)
        return residual

    def _explained(self, Xm: np.ndarray, Xt: np.ndarray) -> float:
        """1 − (centred residual) / (centred pair difference), summed over pairs and channels."""
        residual, diff = Xt - self.transform(Xm), Xt - Xm
        centred = np.sum((diff - diff.mean(axis=0)) ** 2)
        left = np.sum((residual - residual.mean(axis=0)) ** 2)
        return float(1.0 - left / centred) if centred > 0 else 0.0

    def _loo_residual(self, Xm: np.ndarray, Xt: np.ndarray) -> tuple[float, float]:
        """Summed squares of each pair's target spectrum's residual from the operator's linear
        part fitted on the other pairs (δ and σ kept), and of its difference from the others'
        mean difference (the additive model's residual): ``explained_loo_`` is one minus
        their ratio, and ``floor_ratio_`` the first over white noise's."""
        k = Xm.shape[0]
        design = self._design(Xm, self.shift_, self.broadening_)  # (k, C, p)
        left = total = 0.0
        for j in range(k):
            rest = np.arange(k) != j
            coef, *_ = np.linalg.lstsq(design[rest].reshape(-1, design.shape[2]), Xt[rest].reshape(-1), rcond=None)
            r = Xt[j] - design[j] @ coef
            d = (Xt[j] - Xm[j]) - (Xt[rest] - Xm[rest]).mean(axis=0)
            left, total = left + float(r @ r), total + float(d @ d)
        return left, total

    def _design(self, X: np.ndarray, shift: float, sigma: float) -> np.ndarray:
        """(n, C, p): per spectrum, the columns the coefficients multiply — the operator's
        output, its second derivative (``sharpen``), its first derivative along the axis times
        the axis position (``stretch``), the range-scaled Legendre baseline and the fixed one
        (``fixed_baseline``)."""
        # the generator's own operator: shift, then Gaussian resolution (the grid reuses each σ)
        OX = np.asarray((self._operator(0.0, abs(sigma)) @ self._operator(shift, 0.0) @ X.T).T)
        cols = [OX[:, :, None]]
        if self.sharpen:
            cols.append(np.gradient(np.gradient(OX, axis=1), axis=1)[:, :, None])
        if self.stretch_fitted_:
            cols.append((axis_position(self.axis_) * np.gradient(OX, self.axis_, axis=1))[:, :, None])
        cols.append(self._weights(X)[:, None, None] * self._legendre[None, :, :])
        if self.fixed_baseline_:
            cols.append(np.broadcast_to(self._legendre, (X.shape[0],) + self._legendre.shape))
        return np.concatenate(cols, axis=2)

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
        return self._design(X, self.shift_, self.broadening_) @ self.coef_
