"""``spektron data``: look at data sets and fetch the public ones."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Optional

import typer

from spektron.cli.common import fail

app = typer.Typer(
    name="data",
    help="Inspect paired multi-instrument data sets and download public ones.",
    no_args_is_help=True,
)

_DATASETS = ("corn",)


def _fail(message: str) -> NoReturn:
    fail(message)


def _load(dataset: str, data_dir: Optional[Path], resample: bool):
    from spektron.data.corn import load_corn
    from spektron.data.paired import load_paired_directory

    if dataset == "corn":
        return load_corn(data_dir)
    path = Path(dataset)
    if data_dir is not None and not path.is_absolute():
        path = data_dir / path
    if not path.is_dir():
        _fail(f"{dataset!r} is neither a known data set ({', '.join(_DATASETS)}) nor a folder")
    return load_paired_directory(path, resample=resample)


@app.command("info")
def info(
    dataset: str = typer.Argument(..., help="'corn', or a folder in the corn layout (one CSV per instrument + properties.csv)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the data set (for corn: the corn folder or its parent). Default: $SPEKTRON_DATA_DIR, then the user cache."),
    resample: bool = typer.Option(False, "--resample", help="Interpolate instruments with different axes onto their common range."),
) -> None:
    """Print a data set's instruments, shapes, axis ranges and property statistics."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    try:
        data = _load(dataset, data_dir, resample)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))

    console = Console()
    inst = Table(title=f"Data set {data.name!r}: {data.n_samples} paired samples")
    for col in ("instrument", "spectra", "axis", "unit", "standards"):
        inst.add_column(col)
    for name, spectra in data.instruments.items():
        std = data.standards.get(name)
        inst.add_row(
            name,
            f"{spectra.n_samples} × {spectra.n_channels}",
            f"{spectra.axis.min():g}–{spectra.axis.max():g}",
            spectra.unit,
            "-" if std is None else f"{std.n_samples} × {std.n_channels}",
        )
    console.print(inst)

    if not data.property_names:
        console.print("No properties (no properties.csv).")
        return
    props = Table(title="Properties")
    props.add_column("property")
    for col in ("n", "mean", "std", "min", "max"):
        props.add_column(col, justify="right")
    for j, name in enumerate(data.property_names):
        y = data.properties[:, j]
        y = y[~np.isnan(y)]
        if y.size == 0:
            props.add_row(name, "0", "-", "-", "-", "-")
            continue
        std = f"{y.std(ddof=1):.3f}" if y.size > 1 else "-"
        props.add_row(name, str(y.size), f"{y.mean():.3f}", std, f"{y.min():.3f}", f"{y.max():.3f}")
    console.print(props)


@app.command("fetch")
def fetch(
    dataset: str = typer.Argument(..., help="Data set to download: 'corn'."),
    dest: Optional[Path] = typer.Option(None, "--dest", help="Data folder to write into (files go to DEST/corn). Default: the user cache."),
    url: Optional[str] = typer.Option(None, "--url", help="Download from this URL instead of Eigenvector's public corn.mat."),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="Refuse the download unless it has this SHA-256."),
) -> None:
    """Download a public data set and convert it to the CSV layout (needs internet)."""
    from spektron.data.corn import DEFAULT_URL, fetch_corn

    if dataset != "corn":
        _fail(f"unknown data set {dataset!r}; available: {', '.join(_DATASETS)}")
    try:
        folder = fetch_corn(dest, url=url or DEFAULT_URL, sha256=sha256)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"corn data written to {folder}")
