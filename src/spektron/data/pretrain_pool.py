"""The pool of real, unlabelled single-instrument spectra used alongside the generator.

A directory of wide CSV files (column ``sample``, then one column per axis value;
the layout of ``datasets/pretrain``) is read into one :class:`SpectralData` per
file, named after the file. The pool teaches the encoder what real NIR/MIR spectra
look like; it carries no instrument pairs, so the corpus passes each real spectrum
through the *simulated* instruments to make positive pairs.

**Unit rule** (per file, first match wins):

1. the ``unit`` argument, when given, applies to every file;
2. a file name ending in ``_nir`` → nm, ``_mir`` (or ``_ir``/``_raman``) → cm⁻¹;
3. an axis reaching above 2600 → cm⁻¹ (NIR wavelength axes end at ≤ 2600 nm);
4. otherwise the unit is ambiguous (e.g. 800–1900 could be either) and the file is
   refused with a ``ValueError`` asking for ``unit``.

**Onto a model axis** (:func:`to_model_axis`): files are never extrapolated. A file
is resampled (linear interpolation) onto the part of the model axis inside its
measured range, and kept only if that part covers at least ``min_coverage`` of the
model axis's span; otherwise it is skipped (``None``). The result therefore has its
own, possibly shorter, axis: the model accepts any axis, and the corpus draws each
batch from one source so a batch shares one axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from spektron.data.readers import read_csv
from spektron.data.spectra import SpectralData, check_axis, normalise_unit

_SUFFIX_UNITS = {"_nir": "nm", "_mir": "cm-1", "_ir": "cm-1", "_raman": "cm-1"}
_NM_MAX = 2600.0


def _suffix_unit(name: str) -> str | None:
    stem = Path(name).stem.lower()
    return next((unit for suffix, unit in _SUFFIX_UNITS.items() if stem.endswith(suffix)), None)


def infer_unit(name: str, axis: np.ndarray) -> str:
    """The axis unit of a pool file from its name suffix, else its range (see module doc).

    Stricter than :func:`spektron.data.readers.infer_unit`, which guesses nm for any
    axis inside 300–3000: the pool's MIR sets span 800–1900 cm⁻¹, so here an
    ambiguous range is an error rather than a guess.
    """
    unit = _suffix_unit(name)
    if unit is not None:
        return unit
    if float(np.max(axis)) > _NM_MAX:
        return "cm-1"
    raise ValueError(
        f"{name}: cannot tell whether the axis {np.min(axis):g}..{np.max(axis):g} is in nm or cm-1; "
        "name the file *_nir.csv / *_mir.csv or pass unit="
    )


def load_pretrain_pool(
    directory: str | Path,
    unit: str | None = None,
    max_per_file: int | None = None,
    pattern: str = "*.csv",
) -> list[SpectralData]:
    """Every wide CSV in ``directory`` as one :class:`SpectralData`, sorted by file name.

    Files are read with :func:`spektron.data.readers.read_csv`; ``instrument`` is the
    file stem; ``max_per_file`` keeps the first rows of each file (deterministic).
    The axis is made ascending.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"pretraining pool directory not found: {directory}")
    if max_per_file is not None and (int(max_per_file) != max_per_file or max_per_file < 1):
        raise ValueError(f"max_per_file must be a positive integer, got {max_per_file!r}")
    files = sorted(directory.glob(pattern))
    if not files:
        raise ValueError(f"no files matching {pattern!r} in {directory}")
    forced = None if unit is None else normalise_unit(unit)
    pool = []
    for path in files:
        # read with a provisional unit, then apply the pool's stricter unit rule
        data = read_csv(path, unit=forced or _suffix_unit(path.name) or "cm-1", instrument=path.stem)
        if forced is None:
            data = data.replace(unit=infer_unit(path.name, data.axis))
        if max_per_file is not None and data.n_samples > max_per_file:
            data = data.select(np.arange(int(max_per_file)))
        if data.axis[0] > data.axis[-1]:
            data = data.replace(X=data.X[:, ::-1], axis=data.axis[::-1])
        pool.append(data)
    return pool


def to_model_axis(
    data: SpectralData,
    axis: np.ndarray,
    unit: str,
    min_coverage: float = 0.5,
) -> SpectralData | None:
    """``data`` resampled onto the part of ``axis`` (in ``unit``) it measured, or ``None``.

    Coverage is the fraction of the target axis's span (in ``unit``) inside the
    file's range; below ``min_coverage`` the file is skipped. Nothing is
    extrapolated or padded. The returned axis is ascending in ``unit``.
    """
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must lie in (0, 1], got {min_coverage}")
    unit = normalise_unit(unit)
    axis = np.sort(check_axis(axis, name="model axis"))
    if axis.size < 2:
        raise ValueError("the model axis needs at least 2 channels")
    source = data.to_unit(unit)
    lo, hi = float(source.axis.min()), float(source.axis.max())
    inside = (axis >= lo) & (axis <= hi)
    span = axis[-1] - axis[0]
    covered = (min(hi, axis[-1]) - max(lo, axis[0])) / span
    if inside.sum() < 2 or covered < min_coverage:
        return None
    return source.resample(axis[inside])


def pool_on_axis(
    pool: Iterable[SpectralData],
    axis: np.ndarray,
    unit: str,
    min_coverage: float = 0.5,
) -> list[SpectralData]:
    """The files of ``pool`` that cover enough of the model axis, each resampled onto its overlap."""
    out = []
    for data in pool:
        resampled = to_model_axis(data, axis, unit, min_coverage)
        if resampled is not None:
            out.append(resampled)
    return out
