"""The real-spectra pool: reading a directory of wide CSVs and putting files on a model axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spektron.data.pretrain_pool import infer_unit, load_pretrain_pool, pool_on_axis, to_model_axis
from spektron.data.spectra import SpectralData
from spektron.data.synthetic import default_axis


def write_csv(path: Path, axis, X, id_header="sample") -> Path:
    lines = [",".join([id_header] + [f"{a:g}" for a in axis])]
    lines += [",".join([f"s{i}"] + [repr(float(v)) for v in row]) for i, row in enumerate(X)]
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------ real pool
def test_real_pool_reads_every_file_with_the_right_unit(pretrain_dir):
    pool = load_pretrain_pool(pretrain_dir)
    by_name = {d.instrument: d for d in pool}
    assert len(pool) == len(list(Path(pretrain_dir).glob("*.csv")))
    dough = by_name["dough_nir"]
    assert (dough.n_samples, dough.n_channels, dough.unit) == (72, 700, "nm")
    assert dough.axis[0] == 1100 and dough.axis[-1] == 2498
    assert (by_name["diesel_nir"].n_samples, by_name["diesel_nir"].n_channels) == (784, 401)
    puree = by_name["fruit_puree_mir"]
    assert (puree.n_samples, puree.n_channels, puree.unit) == (983, 235, "cm-1")
    assert all(d.unit == ("nm" if d.instrument.endswith("_nir") else "cm-1") for d in pool)


def test_real_pool_on_the_default_axes(pretrain_dir):
    pool = load_pretrain_pool(pretrain_dir, max_per_file=5)
    assert all(d.n_samples == 5 for d in pool)
    nir = pool_on_axis(pool, default_axis("nir"), "nm")
    assert sorted(d.instrument for d in nir) == ["cgl_nir", "dough_nir"]
    dough = next(d for d in nir if d.instrument == "dough_nir")
    np.testing.assert_allclose(dough.X, next(d for d in pool if d.instrument == "dough_nir").X)
    # MIR files span ~800-1900 cm-1: 25-32 % of the default MIR axis; kept when asked for less coverage
    mir = pool_on_axis(pool, default_axis("mir"), "cm-1", min_coverage=0.2)
    assert {d.instrument for d in mir} == {d.instrument for d in pool if d.unit == "cm-1"}
    for d in mir:
        assert d.unit == "cm-1" and d.axis.min() >= 500 and np.all(np.diff(d.axis) == 4)


# --------------------------------------------------------------- tmp fixtures
def test_unit_rule():
    assert infer_unit("a_nir.csv", np.array([800.0, 900.0])) == "nm"
    assert infer_unit("a_mir.csv", np.array([1100.0, 2400.0])) == "cm-1"
    assert infer_unit("other.csv", np.array([600.0, 3800.0])) == "cm-1"
    with pytest.raises(ValueError, match="nm or cm-1"):
        infer_unit("other.csv", np.array([1100.0, 2400.0]))


def test_loader_on_written_files(tmp_path):
    axis = np.arange(1000.0, 1100.0, 10.0)
    X = np.arange(30.0).reshape(3, 10)
    write_csv(tmp_path / "b_nir.csv", axis, X)
    write_csv(tmp_path / "a_mir.csv", axis[::-1], X)  # descending axis
    write_csv(tmp_path / "c.csv", np.linspace(600, 3600, 10), X)  # unit from range
    pool = load_pretrain_pool(tmp_path)
    assert [d.instrument for d in pool] == ["a_mir", "b_nir", "c"]
    assert [d.unit for d in pool] == ["cm-1", "nm", "cm-1"]
    np.testing.assert_array_equal(pool[0].axis, axis)  # made ascending ...
    np.testing.assert_array_equal(pool[0].X, X[:, ::-1])  # ... with the values following
    assert list(pool[1].sample_ids) == ["s0", "s1", "s2"]
    forced = load_pretrain_pool(tmp_path, unit="nm", max_per_file=2)
    assert all(d.unit == "nm" and d.n_samples == 2 for d in forced)


def test_loader_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_pretrain_pool(tmp_path / "missing")
    with pytest.raises(ValueError, match="no files"):
        load_pretrain_pool(tmp_path)
    write_csv(tmp_path / "amb.csv", np.arange(1000.0, 1100.0, 10.0), np.ones((2, 10)))
    with pytest.raises(ValueError, match="amb.csv"):
        load_pretrain_pool(tmp_path)
    bad = tmp_path / "bad_nir.csv"
    bad.write_text("sample,1000,1010\ns0,1.0\n")
    with pytest.raises(ValueError, match="bad_nir.csv, line 2"):
        load_pretrain_pool(tmp_path, unit="nm")
    (tmp_path / "bad_nir.csv").write_text("sample,1000,1010\ns0,1.0,oops\n")
    with pytest.raises(ValueError, match="'oops' is not a number"):
        load_pretrain_pool(tmp_path, unit="nm")


def test_to_model_axis_resamples_the_overlap_only():
    src_axis = np.arange(1500.0, 2201.0, 5.0)
    X = np.stack([0.001 * src_axis, 2.0 - 0.0005 * src_axis])  # linear: interpolation is exact
    data = SpectralData(X=X, axis=src_axis, unit="nm", instrument="part")
    model_axis = default_axis("nir")
    out = to_model_axis(data, model_axis, "nm", min_coverage=0.4)
    assert out.axis[0] == 1500 and out.axis[-1] == 2200 and np.all(np.diff(out.axis) == 2)
    np.testing.assert_allclose(out.X[0], 0.001 * out.axis)
    assert to_model_axis(data, model_axis, "nm", min_coverage=0.6) is None  # covers 50 %
    # onto a wavenumber model axis: the same spectra, converted
    cm = to_model_axis(data, np.arange(4000.0, 7000.0, 4.0), "cm-1", min_coverage=0.5)
    assert cm.unit == "cm-1" and cm.axis.min() >= 1e7 / 2200 and cm.axis.max() <= 1e7 / 1500
    np.testing.assert_allclose(cm.X[0], 0.001 * 1e7 / cm.axis, rtol=1e-3)
    # no overlap at all
    mir = SpectralData(X=X, axis=np.linspace(800, 1900, src_axis.size), unit="cm-1")
    assert to_model_axis(mir, model_axis, "nm") is None
    with pytest.raises(ValueError, match="min_coverage"):
        to_model_axis(data, model_axis, "nm", min_coverage=0)
