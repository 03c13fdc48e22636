"""``spektron data info`` and ``spektron data fetch`` through typer's test runner."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.io
from typer.testing import CliRunner

from spektron.cli.main import app
from spektron.data.readers import write_csv
from spektron.data.spectra import SpectralData

runner = CliRunner()


def row(output: str, name: str) -> list[str]:
    """The cells of the table row that starts with ``name``."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and cells[0] == name:
            return cells
    raise AssertionError(f"no row {name!r} in:\n{output}")


def test_data_help():
    result = runner.invoke(app, ["data", "--help"])
    assert result.exit_code == 0
    assert "info" in result.output and "fetch" in result.output
    result = runner.invoke(app, ["data", "info", "--help"])
    assert result.exit_code == 0 and "--resample" in result.output and "--data-dir" in result.output


def test_info_corn(corn_dir):
    result = runner.invoke(app, ["data", "info", "corn", "--data-dir", str(corn_dir.parent)])
    assert result.exit_code == 0, result.output
    assert row(result.output, "mp6")[1:4] == ["80 × 700", "1100–2498", "nm"]
    n, mean, std, lo, hi = (float(v) for v in row(result.output, "moisture")[1:])
    assert n == 80
    assert mean == pytest.approx(10.23, abs=0.01) and std == pytest.approx(0.38, abs=0.01)
    assert lo < mean < hi


def write_folder(folder, axes):
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, axis in axes.items():
        d = SpectralData(X=rng.random((3, axis.size)), axis=axis, sample_ids=["a", "b", "c"], instrument=name)
        write_csv(d, folder / f"{name}.csv")
    (folder / "properties.csv").write_text("sample,fat\na,1.0\nb,\nc,3.0\n")


def test_info_folder_with_missing_property(tmp_path):
    axis = np.linspace(1000.0, 1100.0, 11)
    write_folder(tmp_path / "lab", {"x": axis, "y": axis})
    result = runner.invoke(app, ["data", "info", str(tmp_path / "lab")])
    assert result.exit_code == 0, result.output
    assert row(result.output, "fat")[1:] == ["2", "2.000", "1.414", "1.000", "3.000"]
    assert row(result.output, "y")[1] == "3 × 11"


def test_info_different_grids_needs_resample(tmp_path):
    write_folder(tmp_path / "lab", {"x": np.linspace(1000.0, 1100.0, 11), "y": np.linspace(1020.0, 1200.0, 10)})
    result = runner.invoke(app, ["data", "info", str(tmp_path / "lab")])
    assert result.exit_code == 2  # one line, "error:", status 2, as every other command
    assert result.output.startswith("error: ") and "--resample" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["data", "info", str(tmp_path / "lab"), "--resample"])
    assert result.exit_code == 0, result.output
    assert row(result.output, "x")[1:3] == ["3 × 9", "1020–1100"]


def test_info_unknown_dataset(tmp_path, monkeypatch):
    result = runner.invoke(app, ["data", "info", "wheat"])
    assert result.exit_code == 2 and "neither a known data set" in result.output
    monkeypatch.delenv("SPEKTRON_DATA_DIR", raising=False)
    result = runner.invoke(app, ["data", "info", "corn", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "spektron data fetch corn" in result.output


def test_fetch_command(tmp_path, monkeypatch):
    # a synthetic .mat served from a file:// URL: urllib handles it, nothing leaves the machine
    rng = np.random.default_rng(2)
    content = {f"{i}spec": rng.random((4, 700)) for i in ("m5", "mp5", "mp6")}
    content["propvals"] = rng.random((4, 4))
    scipy.io.savemat(tmp_path / "corn.mat", content)
    result = runner.invoke(
        app, ["data", "fetch", "corn", "--dest", str(tmp_path / "data"), "--url", (tmp_path / "corn.mat").as_uri()]
    )
    assert result.exit_code == 0, result.output
    assert "corn data written to" in result.output
    result = runner.invoke(app, ["data", "info", "corn", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert row(result.output, "m5")[1] == "4 × 700"
    result = runner.invoke(app, ["data", "fetch", "wheat"])
    assert result.exit_code == 2 and "unknown data set 'wheat'" in result.output
