"""The spectral data container every other module passes around.

A spectrum only means something together with its axis and the instrument that
measured it, so the three travel together in one validated object; the model,
the baselines and the readers all exchange plain NumPy arrays through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

import numpy as np

Unit = Literal["nm", "cm-1"]
UNITS: tuple[str, ...] = ("nm", "cm-1")
_UNIT_ALIASES = {
    "nm": "nm",
    "nanometer": "nm",
    "nanometers": "nm",
    "cm-1": "cm-1",
    "cm^-1": "cm-1",
    "1/cm": "cm-1",
    "cm⁻¹": "cm-1",
    "wavenumber": "cm-1",
    "wavenumbers": "cm-1",
}


def normalise_unit(unit: str) -> str:
    """Map the common spellings of a spectral unit onto ``"nm"`` or ``"cm-1"``."""
    key = str(unit).strip().lower()
    if key not in _UNIT_ALIASES:
        raise ValueError(f"unknown spectral unit {unit!r}: expected one of {', '.join(UNITS)}")
    return _UNIT_ALIASES[key]


def nm_to_wavenumber(values: np.ndarray) -> np.ndarray:
    """Wavelength in nm → wavenumber in cm⁻¹ (and back: the map is its own inverse)."""
    values = np.asarray(values, dtype=float)
    if np.any(values <= 0):
        raise ValueError("spectral axis values must be positive to convert between nm and cm-1")
    return 1e7 / values


def axis_position(axis: np.ndarray) -> np.ndarray:
    """Each channel's place on the axis's range, from −1 at its lowest value to +1 at its
    highest (whichever way the file runs): the variable a stretch of the scale is linear in."""
    axis = np.asarray(axis, dtype=float)
    low, high = float(axis.min()), float(axis.max())
    return (2.0 * axis - (low + high)) / (high - low)


def check_axis(axis: np.ndarray, n_channels: int | None = None, name: str = "axis") -> np.ndarray:
    """Validate a spectral axis: 1-D, finite, strictly monotonic, right length."""
    axis = np.asarray(axis, dtype=float)
    if axis.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {axis.shape}")
    if axis.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(axis)):
        raise ValueError(f"{name} contains non-finite values")
    if axis.size > 1:
        d = np.diff(axis)
        if not (np.all(d > 0) or np.all(d < 0)):
            raise ValueError(f"{name} is not strictly monotonic")
    if n_channels is not None and axis.size != n_channels:
        raise ValueError(
            f"{name} has {axis.size} values but the spectra have {n_channels} channels"
        )
    return axis


def check_spectra(X: np.ndarray, name: str = "spectra", n_channels: int | None = None,
                  fitted: str = "the model was fitted on") -> np.ndarray:
    """Validate a spectra matrix: 2-D, non-empty, finite, and with ``n_channels``
    columns when given (a fitted estimator's ``n_features_in_``; ``fitted`` says what
    was fitted in the error: "spectra have 99 channels but the model was fitted on 100")."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_channels), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(
            f"{name} contains non-finite values (NaN or inf), first at row {bad[0]}, column {bad[1]}"
        )
    if n_channels is not None and X.shape[1] != n_channels:
        raise ValueError(f"{name} have {X.shape[1]} channels but {fitted} {n_channels}")
    return X


def check_targets(y, n_rows: int, name: str = "y", rows: str = "spectra") -> np.ndarray:
    """Validate reference values: one finite number per row of the spectra they belong to
    (``n_rows``); returned as a float vector. ``name``/``rows`` word the errors
    ("master_y has 3 values for 60 master spectra")."""
    y = np.asarray(y, dtype=float).ravel()
    if y.size != n_rows:
        raise ValueError(f"{name} has {y.size} values for {n_rows} {rows}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or inf")
    return y


def validate_spectra(estimator, X, y="no_validation", *, reset: bool, name: str = "spectra",
                     fitted: str = "the model was fitted on", min_samples: int = 1, columns: str = "channels"):
    """scikit-learn's ``validate_data`` for a Spektron estimator, in Spektron's words.

    ``validate_data`` refuses sparse, complex, empty and 1-D input, too few rows and a
    missing ``y``, and keeps ``n_features_in_`` (``reset=True`` in ``fit``); non-finite
    values and a wrong channel count get :func:`check_spectra`'s messages (which also
    carry scikit-learn's wording for the channel count; ``columns`` names what the
    columns are, e.g. "dimensions" for latent codes). Returns ``X`` or ``(X, y)``.
    """
    from sklearn.utils.validation import validate_data

    shape = getattr(X, "shape", None)
    if shape is None and isinstance(X, (list, tuple)):
        shape = np.shape(X)
    two_d = shape is not None and len(shape) == 2
    n_in = getattr(estimator, "n_features_in_", None)
    if not reset and n_in is not None and two_d and not hasattr(X, "tocsr") and shape[1] != n_in:
        raise ValueError(f"{name} have {shape[1]} {columns} but {fitted} {n_in} (X has {shape[1]} features, "
                         f"but {type(estimator).__name__} is expecting {n_in} features as input)")
    if two_d and shape[1] > 0 and shape[0] < min_samples:
        raise ValueError(f"{type(estimator).__name__} needs at least {min_samples} {name}, got n_samples={shape[0]}")
    with_y = not (isinstance(y, str) and y == "no_validation")
    if with_y and y is not None and shape is not None and hasattr(y, "__len__") and len(y) != shape[0]:
        raise ValueError(f"y (reference values) has {len(y)} values for {shape[0]} {name} (Found input variables "
                         f"with inconsistent numbers of samples: [{shape[0]}, {len(y)}])")
    if not with_y:
        X = validate_data(estimator, X, reset=reset, ensure_all_finite=False, ensure_min_samples=min_samples,
                          dtype="numeric")
        return check_spectra(X, name)
    X, y = validate_data(estimator, X, y, reset=reset, ensure_all_finite=False, ensure_min_samples=min_samples,
                         dtype="numeric", y_numeric=True)
    X = check_spectra(X, name)
    return X, check_targets(y, X.shape[0], "y (reference values)", name)


def interpolate_spectra(X: np.ndarray, axis: np.ndarray, new_axis: np.ndarray) -> np.ndarray:
    """Linearly interpolate every row of ``X`` from ``axis`` onto ``new_axis``.

    Refuses to extrapolate: a channel outside the measured range has no data.
    """
    axis = check_axis(axis, X.shape[1])
    new_axis = check_axis(new_axis, name="target axis")
    lo, hi = float(axis.min()), float(axis.max())
    span = hi - lo
    tol = 1e-9 * max(span, 1.0)
    if new_axis.min() < lo - tol or new_axis.max() > hi + tol:
        raise ValueError(
            f"target axis range [{new_axis.min():g}, {new_axis.max():g}] falls outside "
            f"the source range [{lo:g}, {hi:g}]"
        )
    order = np.argsort(axis)
    xs, Xs = axis[order], X[:, order]
    clipped = np.clip(new_axis, lo, hi)
    idx = np.clip(np.searchsorted(xs, clipped, side="right") - 1, 0, xs.size - 2) if xs.size > 1 else None
    if idx is None:
        return np.repeat(Xs, new_axis.size, axis=1)
    x0, x1 = xs[idx], xs[idx + 1]
    w = (clipped - x0) / (x1 - x0)
    return Xs[:, idx] * (1.0 - w) + Xs[:, idx + 1] * w


@dataclass(frozen=True, eq=False)
class SpectralData:
    """Spectra measured on one instrument, with their axis and optional labels.

    Parameters
    ----------
    X : array (n_samples, n_channels)
        Spectra (absorbance or intensity), finite floats.
    axis : array (n_channels,)
        Axis values, strictly monotonic, in ``unit``.
    unit : ``"nm"`` or ``"cm-1"``
    sample_ids : sequence of str, optional
        One id per row; used to align instruments that measured the same samples.
    properties : array (n_samples, n_properties), optional
        Reference values; NaN marks a missing value.
    property_names : sequence of str, optional
        One name per property column.
    instrument : str, optional
        Name of the instrument that measured the spectra.
    """

    X: np.ndarray
    axis: np.ndarray
    unit: str = "nm"
    sample_ids: np.ndarray | None = None
    properties: np.ndarray | None = None
    property_names: tuple[str, ...] = field(default_factory=tuple)
    instrument: str | None = None

    def __post_init__(self) -> None:
        X = check_spectra(self.X)
        axis = check_axis(self.axis, X.shape[1])
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "unit", normalise_unit(self.unit))
        if self.sample_ids is not None:
            ids = np.asarray([str(s) for s in self.sample_ids], dtype=object)
            if ids.shape != (X.shape[0],):
                raise ValueError(
                    f"sample_ids has {ids.size} entries but there are {X.shape[0]} spectra"
                )
            if len(set(ids.tolist())) != ids.size:
                raise ValueError("sample_ids contains duplicates")
            object.__setattr__(self, "sample_ids", ids)
        names = tuple(str(n) for n in self.property_names)
        object.__setattr__(self, "property_names", names)
        if self.properties is not None:
            Y = np.asarray(self.properties, dtype=float)
            if Y.ndim == 1:
                Y = Y[:, None]
            if Y.ndim != 2:
                raise ValueError(f"properties must be 2-D, got shape {Y.shape}")
            if Y.shape[0] != X.shape[0]:
                raise ValueError(
                    f"properties have {Y.shape[0]} rows but there are {X.shape[0]} spectra"
                )
            if names and len(names) != Y.shape[1]:
                raise ValueError(
                    f"{len(names)} property names given for {Y.shape[1]} property columns"
                )
            if not names:
                names = tuple(f"y{i}" for i in range(Y.shape[1]))
                object.__setattr__(self, "property_names", names)
            if np.any(np.isinf(Y)):
                raise ValueError("properties contain infinite values (use NaN for missing)")
            object.__setattr__(self, "properties", Y)
        elif names:
            raise ValueError("property_names given without properties")

    # ------------------------------------------------------------------ basics
    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.X.shape[1])

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        props = f", properties={list(self.property_names)}" if self.property_names else ""
        return (
            f"SpectralData(instrument={self.instrument!r}, n_samples={self.n_samples}, "
            f"n_channels={self.n_channels}, axis={self.axis[0]:g}..{self.axis[-1]:g} {self.unit}{props})"
        )

    def replace(self, **changes) -> "SpectralData":
        """A copy with some fields changed (validated again)."""
        fields = dict(
            X=self.X,
            axis=self.axis,
            unit=self.unit,
            sample_ids=self.sample_ids,
            properties=self.properties,
            property_names=self.property_names,
            instrument=self.instrument,
        )
        fields.update(changes)
        if fields["properties"] is None:
            fields["property_names"] = ()
        return SpectralData(**fields)

    def property(self, name: str) -> np.ndarray:
        """One property column by name (NaN where missing)."""
        if self.properties is None or name not in self.property_names:
            available = ", ".join(self.property_names) or "none"
            raise KeyError(f"unknown property {name!r}; available: {available}")
        return self.properties[:, self.property_names.index(name)]

    # ----------------------------------------------------------------- helpers
    def select(self, rows: Sequence[int] | np.ndarray | slice) -> "SpectralData":
        """The subset of rows (indices, boolean mask or slice), labels kept in step."""
        if isinstance(rows, slice):
            idx = np.arange(self.n_samples)[rows]
        else:
            idx = np.asarray(rows)
            if idx.dtype == bool:
                if idx.shape != (self.n_samples,):
                    raise ValueError(
                        f"boolean row mask has shape {idx.shape}, expected ({self.n_samples},)"
                    )
                idx = np.flatnonzero(idx)
            idx = idx.astype(int)
            if idx.size and (idx.min() < -self.n_samples or idx.max() >= self.n_samples):
                raise IndexError(f"row index out of range for {self.n_samples} spectra")
        if idx.size == 0:
            raise ValueError("selection is empty")
        return self.replace(
            X=self.X[idx],
            sample_ids=None if self.sample_ids is None else self.sample_ids[idx],
            properties=None if self.properties is None else self.properties[idx],
        )

    def to_unit(self, unit: str) -> "SpectralData":
        """Convert the axis between nm and cm⁻¹, reversing channel order so it stays ascending
        where it was ascending."""
        unit = normalise_unit(unit)
        if unit == self.unit:
            return self
        new_axis = nm_to_wavenumber(self.axis)[::-1]
        return self.replace(X=self.X[:, ::-1], axis=new_axis, unit=unit)

    def resample(self, new_axis: np.ndarray, unit: str | None = None) -> "SpectralData":
        """Interpolate onto ``new_axis`` (in ``unit``, default this data's unit).

        Raises ``ValueError`` when the target range falls outside the measured range.
        """
        data = self if unit is None else self.to_unit(unit)
        new_axis = check_axis(new_axis, name="target axis")
        X = interpolate_spectra(data.X, data.axis, new_axis)
        return data.replace(X=X, axis=new_axis)

    def same_axis(self, other: "SpectralData", rtol: float = 1e-6) -> bool:
        """Whether two data sets share the same axis (unit and values)."""
        return (
            self.unit == other.unit
            and self.n_channels == other.n_channels
            and bool(np.allclose(self.axis, other.axis, rtol=rtol, atol=0.0))
        )


def common_axis(datasets: Iterable[SpectralData]) -> np.ndarray:
    """The finest grid covering the range every data set measured (for ``--resample``).

    Uses the grid of the data set with the most channels inside the overlap, clipped to
    the overlap, so no instrument is extrapolated.
    """
    datasets = list(datasets)
    if not datasets:
        raise ValueError("no data sets given")
    unit = datasets[0].unit
    if any(d.unit != unit for d in datasets):
        raise ValueError("data sets use different axis units; convert them first with to_unit")
    lo = max(float(d.axis.min()) for d in datasets)
    hi = min(float(d.axis.max()) for d in datasets)
    if lo >= hi:
        raise ValueError("the instruments' spectral ranges do not overlap")
    best = None
    for d in datasets:
        inside = d.axis[(d.axis >= lo) & (d.axis <= hi)]
        if best is None or inside.size > best.size:
            best = np.sort(inside)
    if best is None or best.size < 2:
        raise ValueError("the overlap of the instruments' spectral ranges holds fewer than 2 channels")
    return best


def align_by_sample(a: SpectralData, b: SpectralData) -> tuple[SpectralData, SpectralData]:
    """Keep only the samples both instruments measured, in the same order (``a``'s order)."""
    if a.sample_ids is None or b.sample_ids is None:
        raise ValueError("both data sets need sample_ids to be aligned by sample")
    pos_b = {s: i for i, s in enumerate(b.sample_ids.tolist())}
    ia = [i for i, s in enumerate(a.sample_ids.tolist()) if s in pos_b]
    if not ia:
        raise ValueError(
            f"instruments {a.instrument!r} and {b.instrument!r} share no sample ids"
        )
    ib = [pos_b[a.sample_ids[i]] for i in ia]
    return a.select(ia), b.select(ib)
