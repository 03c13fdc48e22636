"""Simulated instruments: the augmentation that teaches the encoder what an instrument is.

Each instrument has parameters drawn once from the ranges of SPEC section 4 — an
axis shift within ±3 cm⁻¹, Gaussian resolution broadening σ = 2–8 cm⁻¹, a
polynomial baseline of order 2–4, an optional gain, and white noise at an SNR of
30–60 dB — and applies them identically to every spectrum it "measures", so the
same molecule seen through two instruments is a positive pair that differs only
by the instrument. Only the noise is random per call.

The shift and the broadening are linear in the spectrum, so they are composed into
one sparse banded matrix per (instrument, axis) and cached: applying an instrument
to a batch is one sparse product plus a few vectorised NumPy operations.

Conventions (all in wavenumber, whatever the axis unit):

* **shift** ``Δν``: features move from ν to ν + Δν; on an nm axis a feature at λ
  therefore moves by ``Δλ = −λ² Δν / 10⁷`` (the channel-wise nm equivalent).
* **broadening**: convolution with a Gaussian of standard deviation σ cm⁻¹,
  evaluated at the channels' wavenumbers (wavelength-dependent width on nm axes),
  rows normalised to one so flat regions and band areas are preserved.
* **baseline**: ``Σ c_k P_k(t)`` (Legendre polynomials, t ∈ [−1, 1] across the axis)
  scaled by each spectrum's peak-to-peak amplitude, so its size relative to the
  signal is the same for every source; the largest |baseline| is
  ``baseline_amplitude`` × peak-to-peak.
* **noise**: Gaussian, standard deviation ``std(signal) · 10^(−SNR/20)`` per
  spectrum (SNR as signal variance over noise variance, in dB; the absorbance
  offset does not count as signal).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from numpy.polynomial import legendre

from spektron.data.spectra import check_axis, normalise_unit

#: SPEC section 4 ranges.
SHIFT_RANGE_CM1 = 3.0
SNR_RANGE_DB = (30.0, 60.0)
BASELINE_ORDERS = (2, 4)
BROADENING_RANGE_CM1 = (2.0, 8.0)
GAIN_RANGE = (0.9, 1.1)
BASELINE_AMPLITUDE_RANGE = (0.02, 0.15)


def _wavenumbers(axis: np.ndarray, unit: str) -> np.ndarray:
    return 1e7 / axis if unit == "nm" else axis


def _shift_matrix(nu: np.ndarray, shift: float) -> sp.csr_matrix:
    """Linear-interpolation operator: output channel j reads the input at ν_j − shift.

    Positions beyond the measured range take the edge value (a shifted instrument
    sees no new data at its ends).
    """
    c = nu.size
    order = np.argsort(nu)
    nu_sorted = nu[order]
    src = np.clip(nu - shift, nu_sorted[0], nu_sorted[-1])
    pos = np.searchsorted(nu_sorted, src, side="right") - 1
    pos = np.clip(pos, 0, c - 2)
    x0, x1 = nu_sorted[pos], nu_sorted[pos + 1]
    w1 = (src - x0) / (x1 - x0)
    rows = np.repeat(np.arange(c), 2)
    cols = np.stack([order[pos], order[pos + 1]], axis=1).ravel()
    vals = np.stack([1.0 - w1, w1], axis=1).ravel()
    return sp.csr_matrix((vals, (rows, cols)), shape=(c, c))


def _broadening_matrix(nu: np.ndarray, sigma: float, truncate: float = 4.0) -> sp.csr_matrix:
    """Gaussian convolution in wavenumber on an arbitrary (possibly non-uniform) grid.

    Each input channel is weighted by its width in cm⁻¹ (a quadrature weight), then
    rows are normalised to one. Kernels narrower than a channel reduce to identity.
    """
    c = nu.size
    if sigma <= 0:
        return sp.identity(c, format="csr")
    order = np.argsort(nu)
    nus = nu[order]
    dnu = np.gradient(nus)  # channel widths, cm-1
    lo = np.searchsorted(nus, nus - truncate * sigma, side="left")
    hi = np.searchsorted(nus, nus + truncate * sigma, side="right")
    counts = hi - lo
    rows = np.repeat(np.arange(c), counts)
    starts = np.cumsum(counts) - counts  # where each row's run begins in the flat arrays
    cols = lo[rows] + (np.arange(rows.size) - starts[rows])  # lo[i], lo[i] + 1, …, hi[i] − 1 per row
    vals = np.exp(-0.5 * ((nus[cols] - nus[rows]) / sigma) ** 2) * dnu[cols]
    sums = np.bincount(rows, weights=vals, minlength=c)
    vals = vals / sums[rows]
    # back to the caller's channel order
    return sp.csr_matrix((vals, (order[rows], order[cols])), shape=(c, c))


@dataclass(frozen=True, eq=False)
class SimulatedInstrument:
    """One simulated instrument, with its parameters fixed at creation.

    Parameters
    ----------
    name : str
    shift_cm1 : float
        Displacement of every feature in wavenumber (cm⁻¹).
    broadening_cm1 : float
        Standard deviation σ of the Gaussian resolution function (cm⁻¹).
    baseline_coeffs : tuple of float
        Legendre coefficients ``c_0 … c_order`` of the baseline shape, relative to a
        spectrum's peak-to-peak amplitude.
    gain : float
        Multiplicative intensity scale.
    snr_db : float
        Signal-to-noise ratio of the added white noise, in dB.

    Examples
    --------
    >>> import numpy as np
    >>> from spektron.data.instruments import draw_instruments
    >>> inst = draw_instruments(2, seed=0)[0]
    >>> axis = np.arange(1100.0, 2500.0, 2.0)
    >>> X = np.exp(-0.5 * ((axis - 1700.0) / 20.0) ** 2)[None, :]
    >>> inst.apply(X, axis, "nm", rng=np.random.default_rng(0)).shape
    (1, 700)
    """

    name: str
    shift_cm1: float
    broadening_cm1: float
    baseline_coeffs: tuple[float, ...]
    gain: float = 1.0
    snr_db: float = 45.0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "baseline_coeffs", tuple(float(c) for c in self.baseline_coeffs))
        for name in ("shift_cm1", "broadening_cm1", "gain", "snr_db"):
            value = float(getattr(self, name))
            if not np.isfinite(value):
                raise ValueError(f"instrument {self.name!r}: {name} must be finite, got {value}")
            object.__setattr__(self, name, value)
        if self.broadening_cm1 < 0:
            raise ValueError(f"instrument {self.name!r}: broadening_cm1 must be >= 0, got {self.broadening_cm1}")
        if self.gain <= 0:
            raise ValueError(f"instrument {self.name!r}: gain must be > 0, got {self.gain}")
        if not all(np.isfinite(self.baseline_coeffs)):
            raise ValueError(f"instrument {self.name!r}: baseline coefficients must be finite")

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly parameters (so a training run can record its instruments)."""
        return {
            "name": self.name,
            "shift_cm1": self.shift_cm1,
            "broadening_cm1": self.broadening_cm1,
            "baseline_coeffs": list(self.baseline_coeffs),
            "gain": self.gain,
            "snr_db": self.snr_db,
        }

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> "SimulatedInstrument":
        """Inverse of :meth:`to_dict`; unknown or missing keys are a ``ValueError``."""
        known = {f.name for f in fields(cls) if not f.name.startswith("_")}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"unknown instrument parameter(s): {', '.join(sorted(unknown))}")
        missing = {"name", "shift_cm1", "broadening_cm1", "baseline_coeffs"} - set(params)
        if missing:
            raise ValueError(f"instrument parameters missing: {', '.join(sorted(missing))}")
        return cls(**params)

    # --------------------------------------------------------------- operator
    def operator(self, axis: np.ndarray, unit: str) -> sp.csr_matrix:
        """The sparse (C, C) matrix of shift then broadening on this axis (cached)."""
        unit = normalise_unit(unit)
        axis = check_axis(axis)
        if axis.size < 2:
            raise ValueError("an instrument needs an axis of at least 2 channels")
        key = (unit, axis.tobytes())
        op = self._cache.get(key)
        if op is None:
            nu = _wavenumbers(axis, unit)
            op = (_broadening_matrix(nu, self.broadening_cm1) @ _shift_matrix(nu, self.shift_cm1)).tocsr()
            op.sort_indices()
            if len(self._cache) > 16:  # a handful of axes per run; keep memory bounded
                self._cache.clear()
            self._cache[key] = op
        return op

    def baseline(self, axis: np.ndarray) -> np.ndarray:
        """The baseline shape over the channels (relative units)."""
        axis = check_axis(axis)
        span = axis[-1] - axis[0]
        t = 2.0 * (axis - axis[0]) / span - 1.0 if axis.size > 1 else np.zeros(1)
        return legendre.legval(t, np.asarray(self.baseline_coeffs))

    def apply(
        self,
        X: np.ndarray,
        axis: np.ndarray,
        unit: str,
        rng: np.random.Generator | int | None = None,
        *,
        noise: bool = True,
    ) -> np.ndarray:
        """Spectra as this instrument would record them (same shape and float dtype).

        ``rng`` drives the noise only (a Generator, a seed, or None for fresh
        entropy); everything else is fixed by the instrument. ``noise=False`` gives
        the noiseless measurement.
        """
        X = np.asarray(X)
        squeeze = X.ndim == 1
        X2 = X[None, :] if squeeze else X
        if X2.ndim != 2:
            raise ValueError(f"spectra must be 1-D or 2-D, got shape {X.shape}")
        dtype = X2.dtype if X2.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        op = self.operator(axis, unit)
        if op.shape[0] != X2.shape[1]:
            raise ValueError(f"axis has {op.shape[0]} values but the spectra have {X2.shape[1]} channels")
        Y = np.asarray((op @ X2.T.astype(dtype, copy=False)).T, dtype=dtype)  # (B, C)
        if self.gain != 1.0:
            Y *= dtype.type(self.gain)
        ptp = Y.max(axis=1, keepdims=True) - Y.min(axis=1, keepdims=True)
        Y += ptp * self._baseline_cached(axis).astype(dtype)[None, :]
        if noise:
            if not isinstance(rng, np.random.Generator):
                rng = np.random.default_rng(rng)
            std = Y.std(axis=1, keepdims=True) * dtype.type(10.0 ** (-self.snr_db / 20.0))
            Y += std * rng.standard_normal(Y.shape, dtype=dtype)
        return Y[0] if squeeze else Y

    def _baseline_cached(self, axis: np.ndarray) -> np.ndarray:
        axis = np.asarray(axis, dtype=float)
        key = ("baseline", axis.tobytes())
        b = self._cache.get(key)
        if b is None:
            b = self.baseline(axis)
            self._cache[key] = b
        return b


def draw_instruments(
    n: int = 4,
    seed: int = 0,
    *,
    strength: float = 1.0,
    gain: bool = True,
    shift_range_cm1: float = SHIFT_RANGE_CM1,
    broadening_range_cm1: tuple[float, float] = BROADENING_RANGE_CM1,
    snr_range_db: tuple[float, float] = SNR_RANGE_DB,
    baseline_orders: tuple[int, int] = BASELINE_ORDERS,
    baseline_amplitude: tuple[float, float] = BASELINE_AMPLITUDE_RANGE,
    gain_range: tuple[float, float] = GAIN_RANGE,
) -> list[SimulatedInstrument]:
    """Draw ``n`` instruments with parameters from the SPEC's ranges.

    ``strength`` scales every distortion at once (used to match augmentation to a
    real data set): shifts, σ, baseline amplitude and gain deviation are multiplied
    by it, and the noise standard deviation too (the SNR drops by
    ``20·log10(strength)`` dB).
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not (np.isfinite(strength) and strength > 0):
        raise ValueError(f"strength must be a positive number, got {strength!r}")
    lo_o, hi_o = baseline_orders
    if not (0 <= lo_o <= hi_o):
        raise ValueError(f"baseline_orders must be (lo, hi) with 0 <= lo <= hi, got {baseline_orders}")
    for label, (a, b) in (("broadening_range_cm1", broadening_range_cm1), ("snr_range_db", snr_range_db),
                          ("baseline_amplitude", baseline_amplitude), ("gain_range", gain_range)):
        if not a <= b:
            raise ValueError(f"{label} must be (lo, hi) with lo <= hi, got {(a, b)}")
    if shift_range_cm1 < 0 or broadening_range_cm1[0] < 0 or gain_range[0] <= 0:
        raise ValueError("shift range, broadening and gain must be non-negative (gain > 0)")
    rng = np.random.default_rng([int(seed), 0x696E7374])
    t = np.linspace(-1.0, 1.0, 512)
    out = []
    for i in range(int(n)):
        shift = rng.uniform(-shift_range_cm1, shift_range_cm1) * strength
        sigma = rng.uniform(*broadening_range_cm1) * strength
        order = int(rng.integers(lo_o, hi_o + 1))
        coeffs = rng.uniform(-1.0, 1.0, size=order + 1)
        peak = np.abs(legendre.legval(t, coeffs)).max()
        amplitude = rng.uniform(*baseline_amplitude) * strength
        coeffs = coeffs * (amplitude / peak if peak > 0 else 0.0)
        g = 1.0 + (rng.uniform(*gain_range) - 1.0) * strength if gain else 1.0
        snr = rng.uniform(*snr_range_db) - 20.0 * np.log10(strength)
        out.append(SimulatedInstrument(
            name=f"sim{i}", shift_cm1=shift, broadening_cm1=sigma,
            baseline_coeffs=tuple(coeffs), gain=max(g, 1e-3), snr_db=snr,
        ))
    return out


def apply_instruments(
    X: np.ndarray,
    instrument_index: np.ndarray,
    instruments: Sequence[SimulatedInstrument],
    axis: np.ndarray,
    unit: str,
    rng: np.random.Generator | int | None = None,
    *,
    noise: bool = True,
) -> np.ndarray:
    """Pass row ``i`` of ``X`` through ``instruments[instrument_index[i]]`` (vectorised per instrument)."""
    X = np.asarray(X)
    idx = np.asarray(instrument_index, dtype=int)
    if X.ndim != 2 or idx.shape != (X.shape[0],):
        raise ValueError(f"need spectra (n, C) and one instrument index per row; got {X.shape} and {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= len(instruments)):
        raise ValueError(f"instrument index out of range for {len(instruments)} instruments")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    out = np.empty(X.shape, dtype=dtype)
    for k in np.unique(idx):
        rows = np.flatnonzero(idx == k)
        out[rows] = instruments[k].apply(X[rows], axis, unit, rng, noise=noise)
    return out


def instruments_to_json(instruments: Sequence[SimulatedInstrument]) -> str:
    """A JSON list of the instruments' parameters."""
    return json.dumps([inst.to_dict() for inst in instruments], indent=2)


def instruments_from_json(text: str) -> list[SimulatedInstrument]:
    """Inverse of :func:`instruments_to_json`."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"instrument list is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise ValueError("instrument JSON must be a list of parameter objects")
    return [SimulatedInstrument.from_dict(item) for item in items]


def scaled(instrument: SimulatedInstrument, strength: float) -> SimulatedInstrument:
    """The same instrument with its distortions multiplied by ``strength`` (see :func:`draw_instruments`)."""
    if not (np.isfinite(strength) and strength > 0):
        raise ValueError(f"strength must be a positive number, got {strength!r}")
    return replace(
        instrument,
        shift_cm1=instrument.shift_cm1 * strength,
        broadening_cm1=instrument.broadening_cm1 * strength,
        baseline_coeffs=tuple(c * strength for c in instrument.baseline_coeffs),
        gain=1.0 + (instrument.gain - 1.0) * strength,
        snr_db=instrument.snr_db - 20.0 * np.log10(strength),
        _cache={},
    )
