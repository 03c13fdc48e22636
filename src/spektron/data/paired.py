"""Paired multi-instrument data sets: the same samples measured on several instruments.

Calibration transfer needs, for each instrument, the spectra of the *same* samples in
the *same* order, plus the reference values. :class:`PairedDataset` holds that, and
:func:`load_paired_directory` builds it from a folder in the corn layout:

- one wide CSV per instrument (``sample`` column + one column per axis value; the file
  stem is the instrument name),
- ``properties.csv`` (``sample`` + one column per property; empty cells are missing),
- optional ``<instrument>_nbs.csv`` files with standards (e.g. NBS glass) measured on
  each instrument; they are not instruments.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np
from scipy.interpolate import CubicSpline

from spektron.data.readers import read_csv, read_table
from spektron.data.spectra import SpectralData, axis_position, common_axis

PROPERTIES_FILE = "properties.csv"
STANDARDS_SUFFIX = "_nbs"


@dataclass
class PairedDataset:
    """Several instruments' spectra of the same samples, row-aligned, with properties.

    Parameters
    ----------
    instruments : dict of name → SpectralData
        Every entry has the same ``sample_ids`` in the same order and the same axis.
    property_names : tuple of str
        The property columns every instrument's ``properties`` carries.
    standards : dict of name → SpectralData
        Standards measured on each instrument (not aligned: different counts allowed).
    name : str
        A name for reports.
    """

    instruments: dict[str, SpectralData]
    property_names: tuple[str, ...] = ()
    standards: dict[str, SpectralData] = field(default_factory=dict)
    name: str = "paired"

    def __post_init__(self) -> None:
        if not self.instruments:
            raise ValueError("a paired data set needs at least one instrument")
        self.property_names = tuple(self.property_names)
        first_name, first = next(iter(self.instruments.items()))
        for inst, data in self.instruments.items():
            if data.n_samples != first.n_samples or (
                first.sample_ids is not None
                and (data.sample_ids is None or list(data.sample_ids) != list(first.sample_ids))
            ):
                raise ValueError(
                    f"instruments {first_name!r} and {inst!r} do not hold the same samples in the same order"
                )
            if not data.same_axis(first):
                raise ValueError(f"instruments {first_name!r} and {inst!r} have different spectral axes")
            if tuple(data.property_names) != self.property_names:
                raise ValueError(
                    f"instrument {inst!r} carries properties {list(data.property_names)}, "
                    f"expected {list(self.property_names)}"
                )

    # ----------------------------------------------------------------- access
    @property
    def instrument_names(self) -> list[str]:
        return list(self.instruments)

    @property
    def n_samples(self) -> int:
        return next(iter(self.instruments.values())).n_samples

    @property
    def sample_ids(self) -> np.ndarray | None:
        return next(iter(self.instruments.values())).sample_ids

    @property
    def axis(self) -> np.ndarray:
        return next(iter(self.instruments.values())).axis

    @property
    def unit(self) -> str:
        return next(iter(self.instruments.values())).unit

    @property
    def properties(self) -> np.ndarray | None:
        """The (n_samples, n_properties) reference values (NaN where missing)."""
        return next(iter(self.instruments.values())).properties

    def __getitem__(self, instrument: str) -> SpectralData:
        if instrument not in self.instruments:
            raise KeyError(
                f"unknown instrument {instrument!r} in data set {self.name!r}; "
                f"available: {', '.join(self.instruments)}"
            )
        return self.instruments[instrument]

    def pair(self, master: str, target: str) -> tuple[SpectralData, SpectralData]:
        """The master's and the target's spectra of the same samples, row by row."""
        for role, inst in (("master", master), ("target", target)):
            if inst not in self.instruments:
                raise ValueError(
                    f"unknown {role} instrument {inst!r} in data set {self.name!r}; "
                    f"available: {', '.join(self.instruments)}"
                )
        return self.instruments[master], self.instruments[target]

    def __repr__(self) -> str:
        return (
            f"PairedDataset(name={self.name!r}, instruments={self.instrument_names}, "
            f"n_samples={self.n_samples}, n_channels={len(self.axis)}, "
            f"properties={list(self.property_names)}, standards={list(self.standards)})"
        )


#: Suffix of the instrument that :func:`remeasured` adds: ``m5`` → ``m5-again``.
REMEASURED_SUFFIX = "-again"


def remeasured(data: PairedDataset, instrument: str, relative_noise: float = 1e-3, seed: int = 0,
               shift: float = 0.0, stretch: float = 0.0) -> PairedDataset:
    """``data`` with one more instrument: ``instrument`` measured again — its spectra plus
    white noise at ``relative_noise`` × their overall standard deviation — named
    ``<instrument>-again``. With ``shift`` (axis units), the twin is a second unit whose
    axis scale is off by that much: its channel at axis value ``a`` holds what the original
    recorded at ``a + shift`` (cubic-spline interpolation), the commonest difference between
    two grating spectrometers of one model. ``stretch`` (axis units) adds a shift that grows
    linearly along the axis: ``a + shift + stretch · t(a)``, ``t`` running from −1 at the
    axis's low end to +1 at its high end — a wavelength scale stretched as well as offset.

    A same-instrument check on real spectra. Real paired sets differ by far more than
    chemistry sampling, so they never ask what a transfer method does when the target *is*
    the master (a second unit, a re-measurement); a method should then leave the master
    calibration alone (≈ ``none``). Taking the unlabelled mean difference as an offset, for
    one, costs the sampling error of two means (``ȳ_test − ȳ_cal``).
    """
    if instrument not in data.instruments:
        raise ValueError(f"cannot re-measure unknown instrument {instrument!r} in data set {data.name!r}; "
                         f"available: {', '.join(data.instruments)}")
    if not (np.isfinite(relative_noise) and relative_noise >= 0):
        raise ValueError(f"relative_noise must be a finite number ≥ 0, got {relative_noise!r}")
    for label, value in (("shift", shift), ("stretch", stretch)):
        if not np.isfinite(value):
            raise ValueError(f"{label} must be a finite number (axis units), got {value!r}")
    name = instrument + REMEASURED_SUFFIX
    if name in data.instruments:
        raise ValueError(f"data set {data.name!r} already has an instrument named {name!r}")
    source = data.instruments[instrument]
    rng = np.random.default_rng(seed)
    X = source.X
    if shift or stretch:
        axis = np.asarray(source.axis, dtype=float)
        if abs(shift) + abs(stretch) >= 0.5 * float(np.ptp(axis)):
            raise ValueError(f"shift {shift:g} and stretch {stretch:g} are not small against the axis range "
                             f"{np.ptp(axis):g}")
        order = np.argsort(axis)  # the spline needs an increasing axis; files in cm⁻¹ often run down
        X = CubicSpline(axis[order], X[:, order], axis=1)(axis + float(shift) + float(stretch) * axis_position(axis))
    X = X + float(relative_noise) * float(np.std(source.X)) * rng.standard_normal(source.X.shape)
    return replace(data, instruments={**data.instruments, name: replace(source, X=X, instrument=name)},
                   standards=dict(data.standards))


# ------------------------------------------------------------------ loading
def _axis_summary(data: SpectralData) -> str:
    return f"{data.instrument}: {data.axis.min():g}–{data.axis.max():g} {data.unit}, {data.n_channels} channels"


def load_paired_directory(
    path: str | Path,
    resample: bool = False,
    unit: str | None = None,
    name: str | None = None,
    instruments: Iterable[str] | None = None,
) -> PairedDataset:
    """Load a folder in the corn layout as a :class:`PairedDataset`.

    Rows are matched by the ``sample`` column: samples every instrument measured are
    kept, in the first instrument's order (instruments sorted by name); samples absent
    from ``properties.csv`` get NaN properties. When the instruments' axes differ,
    ``resample=True`` interpolates everything (standards too) onto the finest grid of
    their common range (:func:`~spektron.data.spectra.common_axis`); otherwise a
    ``ValueError`` says so. ``unit`` overrides the nm/cm⁻¹ guess for every file.

    ``instruments`` loads only the named instruments (and their standards): the
    common range for ``resample`` is then the overlap of *those* instruments, so a
    folder whose instruments do not all overlap (e.g. a VIS-NIR and a 2 µm unit
    beside three 900–1700 nm units) can still be used pair by pair.
    """
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"data directory not found: {folder}")
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a directory (expected a folder of instrument CSVs)")
    csvs = sorted(folder.glob("*.csv"))
    inst_files = [
        p for p in csvs if p.name != PROPERTIES_FILE and not p.stem.endswith(STANDARDS_SUFFIX)
    ]
    std_files = [p for p in csvs if p.stem.endswith(STANDARDS_SUFFIX)]
    if instruments is not None:
        wanted = list(dict.fromkeys(instruments))
        found = {p.stem for p in inst_files}
        missing = [w for w in wanted if w not in found]
        if missing:
            raise ValueError(
                f"unknown instrument{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} in {folder}; "
                f"available: {', '.join(sorted(found)) or 'none'}"
            )
        inst_files = [p for p in inst_files if p.stem in wanted]
        std_files = [p for p in std_files if p.stem[: -len(STANDARDS_SUFFIX)] in wanted]
    if not inst_files:
        raise ValueError(
            f"{folder} holds no instrument CSV files (expected one <instrument>.csv per instrument)"
        )

    raw = {p.stem: read_csv(p, unit=unit, instrument=p.stem) for p in inst_files}
    for inst, data in raw.items():
        if data.sample_ids is None:
            raise ValueError(f"{folder / (inst + '.csv')} has no 'sample' column to pair rows by")
    standards = {
        p.stem[: -len(STANDARDS_SUFFIX)]: read_csv(p, unit=unit, instrument=p.stem[: -len(STANDARDS_SUFFIX)])
        for p in std_files
    }

    # rows: the samples every instrument measured, in the first instrument's order
    order = list(raw.values())[0].sample_ids.tolist()
    shared = set(order)
    for data in raw.values():
        shared &= set(data.sample_ids.tolist())
    keep = [s for s in order if s in shared]
    if not keep:
        raise ValueError(f"the instruments in {folder} share no sample ids")
    dropped = max(d.n_samples for d in raw.values()) - len(keep)
    if dropped:
        warnings.warn(
            f"{folder}: {dropped} sample(s) were not measured on every instrument and are left out",
            stacklevel=2,
        )

    # properties, in that row order
    prop_names: tuple[str, ...] = ()
    Y = None
    prop_path = folder / PROPERTIES_FILE
    if prop_path.exists():
        ids, names, values = read_table(prop_path)
        if len(set(ids.tolist())) != len(ids):
            raise ValueError(f"{prop_path} lists a sample more than once")
        row = {s: i for i, s in enumerate(ids.tolist())}
        unmatched = [s for s in row if s not in set(keep)]
        if unmatched:
            warnings.warn(
                f"{prop_path}: {len(unmatched)} sample(s) have reference values but no spectra on every "
                f"instrument and are ignored (e.g. {unmatched[0]!r})",
                stacklevel=2,
            )
        Y = np.full((len(keep), len(names)), np.nan)
        for i, s in enumerate(keep):
            if s in row:
                Y[i] = values[row[s]]
        prop_names = tuple(names)

    # axes: identical, or resampled onto their common range on request
    datasets = list(raw.values())
    first = datasets[0]
    if not all(d.same_axis(first) for d in datasets):
        if not resample:
            grids = "; ".join(_axis_summary(d) for d in datasets)
            raise ValueError(
                f"the instruments in {folder} use different spectral axes ({grids}); pass "
                "resample=True (CLI: --resample) to interpolate them onto their common range"
            )
        target_unit = first.unit
        datasets = [d.to_unit(target_unit) for d in datasets]
        grid = common_axis(datasets)
        raw = {d.instrument: d.resample(grid) for d in datasets}
        standards = {k: s.to_unit(target_unit).resample(grid) for k, s in standards.items()}

    instruments = {}
    for inst, data in raw.items():
        pos = {s: i for i, s in enumerate(data.sample_ids.tolist())}
        aligned = data.select([pos[s] for s in keep])
        instruments[inst] = aligned.replace(properties=Y, property_names=prop_names)
    return PairedDataset(
        instruments=instruments,
        property_names=prop_names,
        standards=standards,
        name=name if name is not None else folder.name,
    )
