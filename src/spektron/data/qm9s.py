"""Reader for a local copy of QM9S (computed IR and Raman spectra of ~130K molecules).

QM9S: Zou, Z. *et al.*, "A deep learning model for predicting selected organic
molecular spectra", *Nature Computational Science* 3, 957–964 (2023); data on
figshare, DOI 10.6084/m9.figshare.24235333. Nothing is downloaded here: the user
points at the files.

Format followed (the figshare record as described in SPEC section 5, and as read
by public code that uses these files, e.g. loaders calling
``pandas.read_csv("ir_broaden.csv")`` then ``df.iloc[:, 0]`` for ids and
``df.columns[1:]`` for the wavenumbers):

* ``ir_broaden.csv`` (103,991 rows) and ``raman_broaden.csv`` (129,817 rows);
* written by pandas with its index: a header line whose first cell is empty (the
  index column) followed by 3,501 wavenumbers, 500–4000 cm⁻¹ in 1 cm⁻¹ steps
  (written ``500.0, 501.0, …``);
* each data line: the molecule's integer index, then 3,501 broadened intensities;
* ``qm9s.pt`` (PyTorch Geometric structures with SMILES) is not read here.

The reader is tolerant where the record is not explicit: the first header cell is
treated as an id column when it is empty or not a number (otherwise every column is
a spectral point and ids are row numbers), and the axis is taken from the header,
not assumed. Files are read in blocks of ``chunk_size`` lines (``numpy.loadtxt`` on
each block), so memory stays bounded however large the file.

Split: the commonly used Vib2Mol split has 110,992 / 5,842 / 12,982 train / val /
test molecules (Lu *et al.*, arXiv:2503.07014). Its exact membership lists are not
part of the QM9S record, so :func:`qm9s_split` draws a deterministic random split
with those sizes (scaled when the file has a different number of rows); it
reproduces the sizes, not Vib2Mol's exact molecules.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from spektron.data.spectra import SpectralData, check_axis

QM9S_FILES = {"ir": "ir_broaden.csv", "raman": "raman_broaden.csv"}
QM9S_AXIS = np.arange(500.0, 4001.0, 1.0)  # 3,501 points, cm-1
VIB2MOL_SPLIT = {"train": 110_992, "val": 5_842, "test": 12_982}


def _resolve(path: str | Path, kind: str) -> Path:
    kind = str(kind).strip().lower()
    if kind not in QM9S_FILES:
        raise ValueError(f"unknown QM9S spectrum kind {kind!r}: expected 'ir' or 'raman'")
    path = Path(path)
    if path.is_dir():
        path = path / QM9S_FILES[kind]
    if not path.is_file():
        raise ValueError(f"QM9S file not found: {path}")
    return path


def _parse_header(line: str, path: Path) -> tuple[np.ndarray, bool]:
    cells = [c.strip().strip('"') for c in line.rstrip("\r\n").split(",")]
    if len(cells) < 2:
        raise ValueError(f"{path}: header has fewer than 2 columns; not a QM9S spectra CSV")
    try:
        float(cells[0])
        has_id = False
    except ValueError:
        has_id = True
    try:
        axis = np.array([float(c) for c in cells[1 if has_id else 0:]])
    except ValueError:
        raise ValueError(f"{path}: header must hold the wavenumbers (cm-1) after the index column") from None
    check_axis(axis, name=f"{path.name} axis")
    return axis, has_id


def iter_qm9s(
    path: str | Path,
    kind: str = "ir",
    chunk_size: int = 1024,
    limit: int | None = None,
) -> Iterator[SpectralData]:
    """Stream QM9S spectra as :class:`SpectralData` blocks of ``chunk_size`` rows.

    ``path`` is the CSV or the directory holding ``ir_broaden.csv`` /
    ``raman_broaden.csv``. ``limit`` stops after that many spectra. Rows with
    non-finite values are dropped with a warning. ``sample_ids`` are the
    molecule indices of the file's first column (row numbers when it has none);
    ``instrument`` is ``"qm9s-ir"`` or ``"qm9s-raman"``.
    """
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if limit is not None and (int(limit) != limit or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    file = _resolve(path, kind)
    kind = kind.strip().lower()
    remaining = limit
    row0 = 0
    with file.open() as fh:
        header = fh.readline()
        if not header.strip():
            raise ValueError(f"{file}: file is empty")
        axis, has_id = _parse_header(header, file)
        width = axis.size + int(has_id)
        while remaining is None or remaining > 0:
            take = chunk_size if remaining is None else min(chunk_size, remaining)
            lines = [ln for ln in itertools.islice(fh, take) if ln.strip()]
            if not lines:
                break
            try:
                block = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2)
            except ValueError as exc:
                raise ValueError(f"{file}: malformed line after data row {row0}: {exc}") from None
            if block.shape[1] != width:
                raise ValueError(f"{file}: rows have {block.shape[1]} columns, header has {width}")
            ids = block[:, 0].astype(np.int64) if has_id else np.arange(row0, row0 + block.shape[0])
            X = block[:, 1:] if has_id else block
            finite = np.isfinite(X).all(axis=1)
            if not finite.all():
                warnings.warn(f"{file}: dropped {int((~finite).sum())} spectra with non-finite values", stacklevel=2)
                X, ids = X[finite], ids[finite]
            row0 += block.shape[0]
            if remaining is not None:
                remaining -= block.shape[0]
            if X.shape[0] == 0:
                continue
            yield SpectralData(
                X=X, axis=axis, unit="cm-1",
                sample_ids=[str(i) for i in ids], instrument=f"qm9s-{kind}",
            )


def load_qm9s(
    path: str | Path,
    kind: str = "ir",
    limit: int | None = None,
    chunk_size: int = 4096,
) -> SpectralData:
    """The first ``limit`` QM9S spectra in one :class:`SpectralData` (meant for subsets:
    the full IR file is ~3 GB as float64)."""
    chunks = list(iter_qm9s(path, kind=kind, chunk_size=chunk_size, limit=limit))
    if not chunks:
        raise ValueError(f"no spectra read from {_resolve(path, kind)}")
    first = chunks[0]
    return first.replace(
        X=np.concatenate([c.X for c in chunks]),
        sample_ids=np.concatenate([c.sample_ids for c in chunks]),
    )


def qm9s_split(
    n: int,
    seed: int = 0,
    sizes: dict[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Deterministic random train/val/test row indices with the Vib2Mol sizes.

    With ``n`` equal to the sizes' total they are used as given; otherwise val and
    test are scaled by ``n / total`` (rounded) and train takes the rest. Indices are
    sorted within each split.
    """
    sizes = dict(VIB2MOL_SPLIT if sizes is None else sizes)
    if set(sizes) != {"train", "val", "test"}:
        raise ValueError(f"sizes must have keys train, val, test; got {sorted(sizes)}")
    if any(int(v) != v or v < 0 for v in sizes.values()):
        raise ValueError(f"split sizes must be non-negative integers, got {sizes}")
    if int(n) != n or n < 3:
        raise ValueError(f"n must be an integer >= 3, got {n!r}")
    total = sum(sizes.values())
    if total == 0:
        raise ValueError("split sizes are all zero")
    if n != total:
        sizes["val"] = max(1, int(round(sizes["val"] * n / total)))
        sizes["test"] = max(1, int(round(sizes["test"] * n / total)))
        sizes["train"] = n - sizes["val"] - sizes["test"]
        if sizes["train"] < 1:
            raise ValueError(f"n={n} is too small for a train/val/test split")
    perm = np.random.default_rng([int(seed), 0x716D39]).permutation(int(n))
    a, b = sizes["train"], sizes["train"] + sizes["val"]
    return {"train": np.sort(perm[:a]), "val": np.sort(perm[a:b]), "test": np.sort(perm[b:])}
