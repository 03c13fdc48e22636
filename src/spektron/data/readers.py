"""Readers (and a CSV writer) for the file formats spectra arrive in.

Every reader returns a validated :class:`~spektron.data.spectra.SpectralData` and turns
a missing, empty or malformed file into a ``FileNotFoundError`` / ``ValueError`` whose
message names the file, so a user never has to read a parser's traceback.

Formats: wide CSV (one row per spectrum, header = axis values, the layout of the corn
data set), NumPy ``.npz``, MATLAB ``.mat`` (plain matrices and Eigenvector DataSet
objects) and JCAMP-DX (through the ``jcamp`` package).
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from spektron.atomic_io import atomic_write
from spektron.data.spectra import SpectralData, normalise_unit

PathLike = str | os.PathLike

#: Header names recognised as the sample-id column of a wide CSV (case-insensitive).
ID_COLUMNS: tuple[str, ...] = ("sample", "id", "sample_id", "name")

#: Missing-value spellings accepted in property tables.
_MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}


# --------------------------------------------------------------------- helpers
def _existing_file(path: PathLike) -> Path:
    """The path as a ``Path``; clear errors for missing, directory or empty files."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"spectra file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, expected a file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty")
    return path


def infer_unit(axis: np.ndarray) -> str:
    """Guess the unit of a spectral axis from its values.

    Heuristic: an axis lying entirely within 300–3000 is taken as a wavelength in nm
    (UV-Vis-NIR spectrometers: 350–2500 nm); anything else (mid-IR 400–4000 cm⁻¹,
    NIR 4000–12500 cm⁻¹, Raman from ~100 cm⁻¹) as a wavenumber in cm⁻¹. The guess
    is wrong for a mid-IR fingerprint or Raman axis inside 300–3000 cm⁻¹ (e.g. the
    800–1900 cm⁻¹ MIR sets of the pretraining pool): pass ``unit=``, which every
    reader takes.
    """
    axis = np.asarray(axis, dtype=float)
    if axis.size and axis.min() >= 300.0 and axis.max() <= 3000.0:
        return "nm"
    return "cm-1"


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _parses(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_number(text: str) -> bool:
    try:
        _float(text)
    except ValueError:
        return False
    return True


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a comma-separated file (blank lines skipped)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a UTF-8 text (CSV) file") from exc
    except csv.Error as exc:
        raise ValueError(f"{path} is not a valid CSV file: {exc}") from exc
    if not rows:
        raise ValueError(f"{path} is empty")
    header = [cell.strip() for cell in rows[0]]
    return header, [[cell.strip() for cell in row] for row in rows[1:]]


def _id_column(header: Sequence[str], path: Path) -> int | None:
    """Index of the sample-id column: a known name, else the first non-numeric header."""
    for i, name in enumerate(header):
        if name.lower() in ID_COLUMNS:
            return i
    non_numeric = [i for i, name in enumerate(header) if not _is_number(name)]
    if not non_numeric:
        return None
    if len(non_numeric) > 1:
        bad = ", ".join(repr(header[i]) for i in non_numeric)
        raise ValueError(
            f"{path}: more than one non-numeric column header ({bad}); a wide spectra CSV has "
            "one optional id column and one numeric header per axis value"
        )
    return non_numeric[0]


def read_table(path: PathLike) -> tuple[np.ndarray, list[str], np.ndarray]:
    """A CSV of named numeric columns keyed by an id column (e.g. ``properties.csv``).

    Returns ``(ids, column_names, values)``; empty cells and ``NA``/``NaN`` become NaN.
    """
    path = _existing_file(path)
    header, rows = _read_rows(path)
    if not rows:
        raise ValueError(f"{path} has a header but no data rows")
    id_col = _id_column(header, path)
    if id_col is None:
        raise ValueError(f"{path} has no id column (expected one named 'sample')")
    names = [h for i, h in enumerate(header) if i != id_col]
    if not names:
        raise ValueError(f"{path} has no value columns")
    ids, values = [], np.empty((len(rows), len(names)))
    for r, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {r}: {len(row)} fields, the header has {len(header)}")
        ids.append(row[id_col])
        cells = [c for i, c in enumerate(row) if i != id_col]
        for j, cell in enumerate(cells):
            if cell.lower() in _MISSING:
                values[r - 2, j] = np.nan
                continue
            try:
                values[r - 2, j] = _float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}, line {r}, column {names[j]!r}: {cell!r} is not a number"
                ) from None
    return np.asarray(ids, dtype=object), names, values


def _build(path: Path, **fields: Any) -> SpectralData:
    """Construct ``SpectralData``, prefixing validation errors with the file name."""
    try:
        return SpectralData(**fields)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


# ------------------------------------------------------------------------ CSV
def read_csv(path: PathLike, unit: str | None = None, instrument: str | None = None) -> SpectralData:
    """Read a wide CSV: one row per spectrum, one column per axis value.

    The header holds the axis values; an optional id column (named ``sample``/``id``,
    or the one non-numeric header) gives the sample ids. ``unit`` defaults to
    :func:`infer_unit`'s guess, ``instrument`` to the file stem.
    """
    path = _existing_file(path)
    header, rows = _read_rows(path)
    if not rows:
        raise ValueError(f"{path} has a header but no data rows")
    id_col = _id_column(header, path)
    cols = [i for i in range(len(header)) if i != id_col]
    if not cols:
        raise ValueError(f"{path} has no spectral columns")
    if not all(_is_number(header[i]) for i in cols):
        bad = next(header[i] for i in cols if not _is_number(header[i]))
        raise ValueError(f"{path}: column header {bad!r} is not an axis value")
    axis = np.array([_float(header[i]) for i in cols])
    X = np.empty((len(rows), len(cols)))
    ids = []
    for r, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {r}: {len(row)} fields, the header has {len(header)}")
        if id_col is not None:
            ids.append(row[id_col])
            del row[id_col]
        try:
            X[r - 2] = np.asarray(row, dtype=float)  # parses in C; locate the culprit on failure
        except ValueError:
            j, cell = next((j, c) for j, c in enumerate(row) if not _parses(c))
            raise ValueError(
                f"{path}, line {r}, column {header[cols[j]]!r}: {cell!r} is not a number"
            ) from None
    return _build(
        path,
        X=X,
        axis=axis,
        unit=normalise_unit(unit) if unit is not None else infer_unit(axis),
        sample_ids=ids if id_col is not None else None,
        instrument=instrument if instrument is not None else path.stem,
    )


def _format_axis_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_csv(data: SpectralData, path: PathLike) -> Path:
    """Write ``data`` as a wide CSV that :func:`read_csv` reads back exactly.

    Values are written with Python's shortest round-trip representation. The file is
    written to a temporary name first and renamed, so a crash never leaves half a file.
    Properties are not written (they belong in a separate ``properties.csv``).
    """
    path = Path(path)
    header = ([] if data.sample_ids is None else ["sample"]) + [
        _format_axis_value(v) for v in data.axis
    ]
    with atomic_write(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for i, row in enumerate(data.X):
            ident = [] if data.sample_ids is None else [data.sample_ids[i]]
            writer.writerow(ident + [repr(float(v)) for v in row])
    return path


def write_table(ids: Sequence[str], names: Sequence[str], values: np.ndarray, path: PathLike) -> Path:
    """Write an id-keyed numeric table (NaN as an empty cell); the inverse of :func:`read_table`."""
    path = Path(path)
    values = np.asarray(values, dtype=float)
    with atomic_write(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["sample", *names])
        for ident, row in zip(ids, values):
            writer.writerow([ident] + ["" if np.isnan(v) else repr(float(v)) for v in row])
    return path


# ------------------------------------------------------------------------ NPZ
_NPZ_SPECTRA = ("X", "spectra")
_NPZ_AXES = {"axis": None, "wavelength": "nm", "wavelengths": "nm", "wavenumber": "cm-1", "wavenumbers": "cm-1"}


def read_npz(path: PathLike, unit: str | None = None, instrument: str | None = None) -> SpectralData:
    """Read a NumPy ``.npz`` archive.

    Keys: ``X`` or ``spectra``; ``axis``, ``wavelength`` (nm) or ``wavenumber`` (cm⁻¹);
    optional ``unit``, ``sample_ids``, ``properties``, ``property_names``, ``instrument``.
    Pickled objects are refused (``allow_pickle=False``): an archive is data, not code.
    """
    path = _existing_file(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            content = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npz archive: {exc}") from exc
    spectra_key = next((k for k in _NPZ_SPECTRA if k in content), None)
    axis_key = next((k for k in _NPZ_AXES if k in content), None)
    if spectra_key is None or axis_key is None:
        raise ValueError(
            f"{path}: an .npz archive needs a spectra array ('X' or 'spectra') and an axis "
            f"('axis', 'wavelength' or 'wavenumber'); found keys {sorted(content)}"
        )
    axis = np.asarray(content[axis_key], dtype=float).ravel()
    if unit is None and "unit" in content:
        unit = str(content["unit"])
    if unit is None:
        unit = _NPZ_AXES[axis_key] or infer_unit(axis)
    if instrument is None:
        instrument = str(content["instrument"]) if "instrument" in content else path.stem
    names = content.get("property_names")
    return _build(
        path,
        X=np.asarray(content[spectra_key], dtype=float),
        axis=axis,
        unit=normalise_unit(unit),
        sample_ids=None if "sample_ids" not in content else content["sample_ids"].tolist(),
        properties=content.get("properties"),
        property_names=() if names is None else [str(n) for n in np.ravel(names)],
        instrument=instrument,
    )


# ------------------------------------------------------------------------ MAT
@dataclass(frozen=True)
class MatTable:
    """One matrix of a ``.mat`` file with whatever labels it carried.

    ``column_axis``/``row_labels``/``column_labels`` are ``None`` when absent (always,
    for a plain matrix; for an Eigenvector DataSet they come from ``axisscale`` and
    ``label``).
    """

    name: str
    data: np.ndarray
    column_axis: np.ndarray | None = None
    row_labels: list[str] | None = None
    column_labels: list[str] | None = None


def _unwrap(value: Any) -> Any:
    """Strip the 1×1 object/struct wrappers ``loadmat`` puts around everything."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def _cell_item(cell: Any, index: int) -> Any:
    """``cell{index+1}`` with MATLAB's column-major linear indexing (``None`` if absent)."""
    if not isinstance(cell, np.ndarray) or cell.dtype != object:
        return None
    flat = np.ravel(cell, order="F")
    return _unwrap(flat[index]) if flat.size > index else None


def _labels(value: Any) -> list[str] | None:
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.size == 0 or arr.dtype.kind not in "US":
        return None
    return [str(s).strip() for s in arr.ravel()]


def _is_dataset(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.names is not None and "data" in value.dtype.names


def _mat_table(name: str, value: Any, path: Path) -> MatTable:
    if _is_dataset(value):
        record = value.reshape(-1)[0]
        data = _unwrap(record["data"])
        axis = labels_rows = labels_cols = None
        names = value.dtype.names
        if "axisscale" in names:
            scale = _cell_item(record["axisscale"], 1)
            if isinstance(scale, np.ndarray) and scale.size:
                axis = np.asarray(scale, dtype=float).ravel()
        if "label" in names:
            labels_rows = _labels(_cell_item(record["label"], 0))
            labels_cols = _labels(_cell_item(record["label"], 1))
    else:
        data, axis, labels_rows, labels_cols = value, None, None, None
    data = np.asarray(data)
    if data.dtype.kind not in "fiub" or data.ndim != 2:
        raise ValueError(
            f"{path}: variable {name!r} is not a 2-D numeric matrix "
            f"(dtype {data.dtype}, shape {data.shape})"
        )
    return MatTable(name, data.astype(float), axis, labels_rows, labels_cols)


def _loadmat(path: Path) -> dict[str, Any]:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        content = loadmat(path, squeeze_me=False, struct_as_record=True)
    except (MatReadError, ValueError, TypeError, OSError, NotImplementedError, IndexError) as exc:
        # IndexError: scipy's format sniffing on a short text file named .mat
        raise ValueError(f"{path} is not a readable MATLAB .mat file ({type(exc).__name__})") from exc
    return {k: v for k, v in content.items() if not k.startswith("__")}


def read_mat_tables(path: PathLike) -> dict[str, MatTable]:
    """Every 2-D numeric matrix or DataSet object of a ``.mat`` file, by variable name.

    Eigenvector DataSet objects load as structs with ``.data``, ``.axisscale`` (a cell
    ``{mode, set}``: the column axis is ``axisscale{2}``) and ``.label``; other
    variables (strings, scalars, cells) are skipped.
    """
    path = _existing_file(path)
    tables = {}
    for name, value in _loadmat(path).items():
        try:
            table = _mat_table(name, value, path)
        except (ValueError, TypeError, KeyError, IndexError):
            continue
        if min(table.data.shape) >= 1 and table.data.size > 1:
            tables[name] = table
    return tables


_MAT_AXES = {"axis": None, "wavelength": "nm", "wavelengths": "nm", "wavenumber": "cm-1", "wavenumbers": "cm-1"}


def read_mat(
    path: PathLike,
    variable: str | None = None,
    axis: np.ndarray | None = None,
    unit: str | None = None,
    instrument: str | None = None,
) -> SpectralData:
    """Read one spectra matrix from a MATLAB ``.mat`` file.

    ``variable`` names the matrix (needed when the file holds several). Its axis comes,
    in order, from ``axis=``, the DataSet's ``axisscale{2}``, or a vector variable named
    ``axis``/``wavelength``/``wavenumber`` in the file. DataSet row labels become the
    sample ids. ``instrument`` defaults to the file stem, or to the variable name when
    the file holds several matrices (``corn.mat``: ``m5spec``, ``mp5spec``, ...).
    """
    path = _existing_file(path)
    content = _loadmat(path)
    tables = read_mat_tables(path)
    axis_vars = {k: v for k, v in content.items() if k.lower() in _MAT_AXES}
    candidates = {k: t for k, t in tables.items() if k not in axis_vars}
    if variable is None:
        if len(candidates) != 1:
            found = ", ".join(sorted(candidates)) or "none"
            raise ValueError(
                f"{path}: expected exactly one spectra matrix, found {found}; pass variable="
            )
        variable = next(iter(candidates))
    if variable not in tables:
        found = ", ".join(sorted(tables)) or "none"
        raise ValueError(f"{path}: no matrix named {variable!r} (matrices: {found})")
    table = tables[variable]
    axis_unit = None
    if axis is None:
        axis = table.column_axis
    if axis is None and axis_vars:
        key = next(iter(axis_vars))
        axis, axis_unit = np.asarray(axis_vars[key], dtype=float).ravel(), _MAT_AXES[key.lower()]
    if axis is None:
        raise ValueError(
            f"{path}: variable {variable!r} has no axis (no DataSet axisscale and no "
            "'axis'/'wavelength'/'wavenumber' variable); pass axis="
        )
    axis = np.asarray(axis, dtype=float).ravel()
    unit = unit or axis_unit or infer_unit(axis)
    return _build(
        path,
        X=table.data,
        axis=axis,
        unit=normalise_unit(unit),
        sample_ids=table.row_labels if table.row_labels and len(table.row_labels) == table.data.shape[0] else None,
        instrument=instrument if instrument is not None else (path.stem if len(candidates) == 1 else variable),
    )


# --------------------------------------------------------------------- JCAMP-DX
_JCAMP_UNITS = {"NANOMETERS": ("nm", 1.0), "NM": ("nm", 1.0), "1/CM": ("cm-1", 1.0),
                "CM-1": ("cm-1", 1.0), "MICROMETERS": ("nm", 1000.0), "UM": ("nm", 1000.0)}


def _jcamp_spectra(path: Path) -> list[tuple[str, np.ndarray, np.ndarray, str | None]]:
    import contextlib
    import io

    import jcamp

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the parser prints its checks
            parsed = jcamp.readfile(str(path))
    except Exception as exc:  # the parser raises whatever its string handling hits
        raise ValueError(f"{path} is not a readable JCAMP-DX file: {exc}") from exc
    blocks = parsed.get("children") or [parsed]
    spectra = []
    for k, block in enumerate(blocks):
        x = np.asarray(block.get("x", []), dtype=float)
        y = np.asarray(block.get("y", []), dtype=float)
        if x.size == 0 or y.size == 0:
            continue
        if x.size != y.size:
            raise ValueError(f"{path}: block {k} has {x.size} x values but {y.size} y values")
        xunits = str(block.get("xunits", "")).strip().upper()
        unit, factor = _JCAMP_UNITS.get(xunits, (None, 1.0))
        title = str(block.get("title", "")).strip() or (path.stem if len(blocks) == 1 else f"{path.stem}_{k}")
        spectra.append((title, x * factor, y, unit))
    if not spectra:
        raise ValueError(f"{path}: no spectral data (##XYDATA) found in the JCAMP-DX file")
    return spectra


def read_jcamp(
    paths: PathLike | Iterable[PathLike],
    unit: str | None = None,
    instrument: str | None = None,
) -> SpectralData:
    """Read one or several JCAMP-DX files (one spectrum each, or compound LINK files).

    All spectra must share the same x values. Sample ids are the ``##TITLE`` entries;
    the unit comes from ``##XUNITS`` (µm are converted to nm) unless ``unit`` is given.
    ``instrument`` defaults to the stem of a single file, else the common folder's name.
    """
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not files:
        raise ValueError("no JCAMP-DX files given")
    rows, titles, axis, file_unit = [], [], None, None
    for path in files:
        path = _existing_file(path)
        for title, x, y, u in _jcamp_spectra(path):
            order = np.argsort(x)
            x, y = x[order], y[order]
            if axis is None:
                axis, file_unit = x, u
            elif x.shape != axis.shape or not np.allclose(x, axis, rtol=1e-9, atol=1e-9):
                raise ValueError(
                    f"{path}: its x values differ from the first file's ({files[0]}); "
                    "resample the spectra onto one axis first"
                )
            rows.append(y)
            titles.append(title)
    if unit is None:
        unit = file_unit or infer_unit(axis)
    if instrument is None:
        instrument = files[0].stem if len(files) == 1 else files[0].resolve().parent.name
    ids = titles if len(set(titles)) == len(titles) else None
    return _build(
        files[0], X=np.vstack(rows), axis=axis, unit=normalise_unit(unit), sample_ids=ids, instrument=instrument
    )


# ------------------------------------------------------------------ dispatcher
_READERS = {
    ".csv": read_csv,
    ".npz": read_npz,
    ".mat": read_mat,
    ".jdx": read_jcamp,
    ".dx": read_jcamp,
    ".jcamp": read_jcamp,
}


def read_spectra(path: PathLike, **kwargs: Any) -> SpectralData:
    """Read a spectra file with the reader its extension calls for (keywords passed on)."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(
            f"{path}: unknown spectra file type {path.suffix!r}; supported: {', '.join(sorted(_READERS))}"
        )
    return reader(path, **kwargs)
