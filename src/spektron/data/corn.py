"""The corn data set: 80 samples on three NIR instruments (m5, mp5, mp6).

The standard public benchmark for calibration transfer (Cargill; distributed by
Eigenvector Research, https://eigenvector.com/resources/data-sets/). 1100–2498 nm at
2 nm (700 channels), moisture/oil/protein/starch, and NBS glass standards measured on
each instrument.

Where the files are looked for, in order:

1. the ``data_dir`` argument (the ``corn`` folder itself, or the folder holding it),
2. ``$SPEKTRON_DATA_DIR/corn``,
3. the user cache, ``<cache>/spektron/corn`` (``$XDG_CACHE_HOME`` or ``~/.cache`` on
   Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows), which is
   where :func:`fetch_corn` (``spektron data fetch corn``) puts them.

Integrity: the reference CSV files are checked against SHA-256 sums shipped here.
Files that :func:`fetch_corn` converted from the public ``corn.mat`` need not be
byte-identical to the reference CSVs (number formatting), so the converter records
its own sums in ``spektron-fetch.json``; files matching that record are accepted too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from spektron.atomic_io import atomic_write
from spektron.data.paired import PairedDataset, load_paired_directory
from spektron.data.readers import MatTable, read_mat_tables, write_csv, write_table
from spektron.data.spectra import SpectralData

DATA_DIR_ENV = "SPEKTRON_DATA_DIR"
INSTRUMENTS: tuple[str, ...] = ("m5", "mp5", "mp6")
PROPERTIES: tuple[str, ...] = ("moisture", "oil", "protein", "starch")
#: The corn axis, 1100–2498 nm in 2 nm steps (used when a .mat file has no axisscale).
CORN_AXIS = np.arange(1100.0, 2500.0, 2.0)

#: SHA-256 of the reference CSV files (the layout described in the module docstring).
SHA256: dict[str, str] = {
    "m5.csv": "efe00708a4728a399be348d2db9660eeca584b982054aca18e7a7eec79fff39f",
    "m5_nbs.csv": "b39fb87ded9db8db1e8e05cf784ecd92b680df66902e854860acafbd44449bfc",
    "mp5.csv": "71e887262b334ebccc3276f3e7e74d5b26a3f445bd16a4f28ae7ccf51cc93f42",
    "mp5_nbs.csv": "c1bbbc7f6a8a85629ad005adf843cb2299d6cab1a809a1aed06837079464a631",
    "mp6.csv": "dbd050f7c17a98626b18a180147b1dae78333205dde723950303a1fadd37c982",
    "mp6_nbs.csv": "681a9bff1407a166f826f876ea96c21c722844887800fc6757cf40e954a37168",
    "properties.csv": "d3c69d4c0d6a228837b00591b8d2f2dedac798fc500c2f426fde849c050edf29",
}

#: Eigenvector's public download (a zip holding ``corn.mat``).
DEFAULT_URL = "https://eigenvector.com/wp-content/uploads/2019/06/corn.mat_.zip"
FETCH_RECORD = "spektron-fetch.json"

_HOW_TO_GET = (
    "Get the corn data with `spektron data fetch corn` (downloads the public Eigenvector "
    "corn.mat into the user cache and converts it), or point at a folder holding "
    "m5.csv, mp5.csv, mp6.csv, properties.csv and the *_nbs.csv files with "
    f"--data-dir / data_dir= or the {DATA_DIR_ENV} environment variable (its corn/ subfolder)."
)


# ------------------------------------------------------------------ locations
def user_cache_dir() -> Path:
    """Spektron's per-user cache folder, following each platform's convention."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "spektron" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "spektron"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "spektron"


def _corn_folder(candidate: Path) -> Path | None:
    for folder in (candidate, candidate / "corn"):
        if (folder / "m5.csv").is_file():
            return folder
    return None


def resolve_corn_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the corn CSV files (see the module docstring for the order).

    An explicit ``data_dir`` that holds no corn files is an error, not a fall-through:
    silently reading other files than the user named would hide a typo.
    """
    if data_dir is not None:
        found = _corn_folder(Path(data_dir).expanduser())
        if found is None:
            raise FileNotFoundError(f"no corn data (m5.csv) in {data_dir} or {Path(data_dir) / 'corn'}. {_HOW_TO_GET}")
        return found
    tried = []
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        found = _corn_folder(Path(env).expanduser())
        if found is not None:
            return found
        tried.append(f"${DATA_DIR_ENV}={env}")
    cache = user_cache_dir() / "corn"
    if (cache / "m5.csv").is_file():
        return cache
    tried.append(str(cache))
    raise FileNotFoundError(f"corn data set not found (looked in {', '.join(tried)}). {_HOW_TO_GET}")


# ------------------------------------------------------------------ integrity
def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_corn(folder: str | os.PathLike) -> None:
    """Check every corn file against the shipped SHA-256 sums (or a fetch record).

    Without a ``spektron-fetch.json`` record all seven reference files must be present
    and match :data:`SHA256`; with one, the files it lists must match either. Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a mismatch.
    """
    folder = Path(folder)
    record_path = folder / FETCH_RECORD
    record = json.loads(record_path.read_text())["files"] if record_path.is_file() else {}
    for name in record or SHA256:
        path, expected = folder / name, SHA256.get(name, record.get(name))
        if not path.is_file():
            raise FileNotFoundError(f"corn file missing: {path}. {_HOW_TO_GET}")
        actual = sha256_file(path)
        if actual != expected and actual != record.get(name):
            raise ValueError(
                f"corn file {path} fails its SHA-256 check (expected {expected}, got {actual}): "
                "it is corrupted or not the reference corn data. Re-fetch it with "
                "`spektron data fetch corn`, or pass verify=False to load it anyway."
            )


def load_corn(data_dir: str | os.PathLike | None = None, verify: bool = True) -> PairedDataset:
    """The corn data set: m5, mp5, mp6 aligned by sample (80 × 700, 1100–2498 nm).

    Every instrument carries the four properties (moisture, oil, protein, starch);
    ``standards`` holds the NBS glass spectra of each instrument.
    """
    folder = resolve_corn_dir(data_dir)
    if verify:
        verify_corn(folder)
    data = load_paired_directory(folder, unit="nm", name="corn")
    if tuple(data.instruments) != INSTRUMENTS or data.property_names != PROPERTIES:
        raise ValueError(
            f"{folder} does not hold the corn layout: instruments {data.instrument_names}, "
            f"properties {list(data.property_names)} (expected {list(INSTRUMENTS)} and {list(PROPERTIES)})"
        )
    return data


# -------------------------------------------------------------------- fetching
def _download(url: str, dest: Path, sha256: str | None, timeout: float) -> Path:
    """Stream ``url`` into ``dest`` through a temporary file and an atomic rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with atomic_write(dest, "wb", suffix=".part") as out, urllib.request.urlopen(url, timeout=timeout) as response:
        for chunk in iter(lambda: response.read(1 << 16), b""):
            digest.update(chunk)
            out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256.lower():  # before the rename: no bad file stays
            raise ValueError(
                f"download from {url} fails its SHA-256 check (expected {sha256}, got {digest.hexdigest()})"
            )
    return dest


def _extract_mat(archive: Path) -> Path:
    """If the download is a zip (Eigenvector ships ``corn.mat_.zip``), extract its .mat."""
    if not zipfile.is_zipfile(archive):
        return archive
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.namelist() if m.lower().endswith(".mat") and not m.startswith("__MACOSX")]
        if not members:
            raise ValueError(f"{archive} is a zip archive without a .mat file")
        target = archive.with_name("corn.mat")
        with atomic_write(target, "wb", suffix=".part") as out, zf.open(members[0]) as src:
            shutil.copyfileobj(src, out)
    if archive != target:
        archive.unlink()
    return target


def _spectra(table: MatTable, name: str) -> SpectralData:
    axis = table.column_axis
    if axis is None or axis.size != table.data.shape[1]:
        if table.data.shape[1] != CORN_AXIS.size:
            raise ValueError(
                f"corn.mat variable {table.name!r} has {table.data.shape[1]} channels and no axis"
            )
        axis = CORN_AXIS
    ids = [str(i + 1) for i in range(table.data.shape[0])]
    return SpectralData(X=table.data, axis=axis, unit="nm", sample_ids=ids, instrument=name)


def convert_corn_mat(mat_path: str | os.PathLike, folder: str | os.PathLike) -> dict[str, str]:
    """Write the CSV layout (see module docstring) from Eigenvector's ``corn.mat``.

    Reads the DataSet objects (or plain matrices) ``m5spec``, ``mp5spec``, ``mp6spec``,
    ``propvals``, ``m5nbs``, ``mp5nbs``, ``mp6nbs``. Returns the SHA-256 of each file
    written.
    """
    mat_path, folder = Path(mat_path), Path(folder)
    tables = read_mat_tables(mat_path)
    needed = [f"{i}spec" for i in INSTRUMENTS] + ["propvals"]
    missing = [n for n in needed if n not in tables]
    if missing:
        raise ValueError(
            f"{mat_path} is not the corn data set: missing variable(s) {', '.join(missing)} "
            f"(found {', '.join(sorted(tables)) or 'none'})"
        )
    props = tables["propvals"]
    n = tables["m5spec"].data.shape[0]
    if props.data.shape != (n, len(PROPERTIES)):
        raise ValueError(f"{mat_path}: propvals has shape {props.data.shape}, expected ({n}, {len(PROPERTIES)})")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for inst in INSTRUMENTS:
        write_csv(_spectra(tables[f"{inst}spec"], inst), folder / f"{inst}.csv")
        written.append(f"{inst}.csv")
        if f"{inst}nbs" in tables:
            write_csv(_spectra(tables[f"{inst}nbs"], inst), folder / f"{inst}_nbs.csv")
            written.append(f"{inst}_nbs.csv")
    write_table([str(i + 1) for i in range(n)], PROPERTIES, props.data, folder / "properties.csv")
    written.append("properties.csv")
    return {name: sha256_file(folder / name) for name in written}


def fetch_corn(
    dest: str | os.PathLike | None = None,
    url: str = DEFAULT_URL,
    sha256: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the public corn data set and convert it to the CSV layout.

    ``dest`` is the data folder (default: the user cache); files go to ``dest/corn``,
    which is where :func:`load_corn` looks. The download (a ``.mat`` or a zip holding
    one) is streamed to a temporary file and renamed into place only when complete;
    with ``sha256`` it must match that hash. The converted CSVs' hashes are recorded
    in ``spektron-fetch.json`` so :func:`load_corn` can verify them later. Returns the
    ``corn`` folder.
    """
    root = Path(dest).expanduser() if dest is not None else user_cache_dir()
    folder = root / "corn"
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(urllib.parse.urlparse(url).path).name or "corn.mat"
    try:
        download = _download(url, folder / name, sha256, timeout)
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise ConnectionError(f"could not download the corn data from {url}: {exc}") from exc
    mat_path = _extract_mat(download)
    hashes = convert_corn_mat(mat_path, folder)
    record = {"source": url, "source_sha256": sha256_file(mat_path), "files": hashes}
    (folder / FETCH_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return folder


__all__ = [
    "DATA_DIR_ENV",
    "DEFAULT_URL",
    "SHA256",
    "convert_corn_mat",
    "fetch_corn",
    "load_corn",
    "resolve_corn_dir",
    "user_cache_dir",
    "verify_corn",
]
