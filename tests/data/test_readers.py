"""Readers (CSV, NPZ, MAT, JCAMP-DX), the dispatcher and the paired-directory loader.

Every fixture is written by the test itself into ``tmp_path``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from spektron.data.paired import PairedDataset, load_paired_directory, remeasured
from spektron.data.readers import (
    infer_unit,
    read_csv,
    read_jcamp,
    read_mat,
    read_mat_tables,
    read_npz,
    read_spectra,
    read_table,
    write_csv,
)
from spektron.data.spectra import SpectralData

AXIS = np.arange(1100.0, 1120.0, 2.0)  # 10 channels, nm


def spectra(rng, n=4, axis=AXIS, ids=None, instrument="m5"):
    return SpectralData(
        X=rng.normal(size=(n, axis.size)),
        axis=axis,
        unit="nm",
        sample_ids=ids if ids is not None else [str(i + 1) for i in range(n)],
        instrument=instrument,
    )


def write_text(path, text):
    path.write_text(text)
    return path


# ------------------------------------------------------------------------- CSV
def test_csv_round_trip_exact(tmp_path, rng):
    data = spectra(rng)
    path = write_csv(data, tmp_path / "m5.csv")
    back = read_csv(path)
    np.testing.assert_array_equal(back.X, data.X)
    np.testing.assert_array_equal(back.axis, data.axis)
    assert back.sample_ids.tolist() == ["1", "2", "3", "4"]
    assert back.unit == "nm" and back.instrument == "m5"
    assert path.read_text().splitlines()[0].startswith("sample,1100,1102,")


def test_csv_without_id_column_and_named_id(tmp_path):
    plain = write_text(tmp_path / "a.csv", "4000,4002,4004\n1,2,3\n4,5,6\n")
    d = read_csv(plain, instrument="lab")
    assert d.sample_ids is None and d.X.shape == (2, 3) and d.instrument == "lab"
    assert d.unit == "cm-1"  # 4000 cm-1 is outside the 300–3000 nm window
    named = write_text(tmp_path / "b.csv", "name,500,600\nleaf,0.1,0.2\nstem,0.3,0.4\n")
    d = read_csv(named)
    assert d.sample_ids.tolist() == ["leaf", "stem"] and d.unit == "nm"


def test_csv_unit_override(tmp_path):
    path = write_text(tmp_path / "raman.csv", "sample,400,800,1200\nx,1,2,3\n")
    assert read_csv(path).unit == "nm"  # the heuristic's known blind spot...
    assert read_csv(path, unit="cm-1").unit == "cm-1"  # ...which the user overrides


def test_infer_unit_heuristic():
    assert infer_unit(np.array([1100.0, 2498.0])) == "nm"
    assert infer_unit(np.array([350.0, 2500.0])) == "nm"
    assert infer_unit(np.array([400.0, 4000.0])) == "cm-1"
    assert infer_unit(np.array([4000.0, 10000.0])) == "cm-1"
    assert infer_unit(np.array([150.0, 1800.0])) == "cm-1"


def test_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        read_csv(tmp_path / "nothere.csv")


def test_csv_empty_file(tmp_path):
    empty = write_text(tmp_path / "empty.csv", "")
    with pytest.raises(ValueError, match="empty.csv is empty"):
        read_csv(empty)
    header_only = write_text(tmp_path / "header.csv", "sample,1,2\n")
    with pytest.raises(ValueError, match="header.csv has a header but no data rows"):
        read_csv(header_only)


@pytest.mark.parametrize(
    "text, message",
    [
        ("sample,1100,1102\n1,0.1\n", r"line 2: 2 fields, the header has 3"),
        ("sample,1100,1102\n1,0.1,abc\n", r"line 2, column '1102': 'abc' is not a number"),
        ("sample,1100,1102\n1,0.1,nan\n", r"bad.csv: spectra contains non-finite"),
        ("sample,1100,1100\n1,0.1,0.2\n", r"bad.csv: axis is not strictly monotonic"),
        ("sample,1100,foo\n1,0.1,0.2\n", r"column header 'foo' is not an axis value"),
        ("a,b,1100\n1,2,3\n", r"more than one non-numeric column header"),
        ("sample,1100\n1,2\n1,3\n", r"bad.csv: sample_ids contains duplicates"),
    ],
)
def test_csv_malformed(tmp_path, text, message):
    path = write_text(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message):
        read_csv(path)


def test_csv_binary_file(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x92" * 10)
    with pytest.raises(ValueError, match="bin.csv"):
        read_csv(path)


def test_read_table_missing_values(tmp_path):
    path = write_text(tmp_path / "properties.csv", "sample,oil,water\n1,3.5,\n2,NA,10.25\n")
    ids, names, values = read_table(path)
    assert ids.tolist() == ["1", "2"] and names == ["oil", "water"]
    np.testing.assert_array_equal(np.isnan(values), [[False, True], [True, False]])
    assert values[1, 1] == 10.25


# ------------------------------------------------------------------------- NPZ
def test_npz_full(tmp_path, rng):
    X = rng.normal(size=(3, 4))
    path = tmp_path / "lab.npz"
    np.savez(path, spectra=X, wavenumber=np.array([1000.0, 1100.0, 1200.0, 1300.0]),
             sample_ids=np.array(["a", "b", "c"]), properties=np.array([[1.0], [np.nan], [3.0]]),
             property_names=np.array(["fat"]))
    d = read_npz(path)
    np.testing.assert_array_equal(d.X, X)
    assert d.unit == "cm-1"  # from the key, although 1000–1300 would look like nm
    assert d.sample_ids.tolist() == ["a", "b", "c"] and d.property_names == ("fat",)
    assert np.isnan(d.property("fat")[1]) and d.instrument == "lab"


def test_npz_axis_and_unit_key(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, X=np.ones((2, 3)), axis=np.array([1.0, 2.0, 3.0]), unit=np.array("nm"))
    d = read_npz(path)
    assert d.unit == "nm" and d.sample_ids is None and d.properties is None


def test_npz_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.npz"):
        read_npz(tmp_path / "none.npz")
    write_text(tmp_path / "text.npz", "not a zip")
    with pytest.raises(ValueError, match="text.npz is not a readable .npz"):
        read_npz(tmp_path / "text.npz")
    np.savez(tmp_path / "keys.npz", data=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"keys.npz: .* found keys \['data'\]"):
        read_npz(tmp_path / "keys.npz")
    np.savez(tmp_path / "short.npz", X=np.ones((2, 3)), axis=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="short.npz: axis has 2 values"):
        read_npz(tmp_path / "short.npz")
    (tmp_path / "zero.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="zero.npz is empty"):
        read_npz(tmp_path / "zero.npz")


# ------------------------------------------------------------------------- MAT
def dataset_struct(X, axis, row_labels=None):
    """An Eigenvector DataSet as MATLAB saves it: axisscale/label are {mode, set} cells."""
    scale = np.empty((2, 2), dtype=object)
    scale[0, 0], scale[1, 0] = np.zeros((0, 0)), np.asarray(axis)[None, :]
    scale[0, 1], scale[1, 1] = "", "Wavelength (nm)"
    label = np.empty((2, 2), dtype=object)
    label[0, 0] = np.array(row_labels) if row_labels is not None else np.zeros((0, 0))
    label[1, 0], label[0, 1], label[1, 1] = np.zeros((0, 0)), "", ""
    return {"data": X, "axisscale": scale, "label": label, "name": "test", "type": "data"}


def test_mat_dataset_struct(tmp_path, rng):
    X = rng.normal(size=(3, AXIS.size))
    path = tmp_path / "set.mat"
    scipy.io.savemat(path, {"m5spec": dataset_struct(X, AXIS, ["s1", "s2", "s3"])})
    d = read_mat(path)
    np.testing.assert_array_equal(d.X, X)
    np.testing.assert_array_equal(d.axis, AXIS)
    assert d.sample_ids.tolist() == ["s1", "s2", "s3"]
    assert d.unit == "nm" and d.instrument == "set"  # the only matrix: named after the file


def test_mat_plain_matrix_with_axis_variable(tmp_path, rng):
    X = rng.normal(size=(2, 3))
    path = tmp_path / "plain.mat"
    scipy.io.savemat(path, {"spectra": X, "wavenumber": np.array([4000.0, 4100.0, 4200.0]), "note": "hello"})
    d = read_mat(path)
    np.testing.assert_allclose(d.X, X)
    assert d.unit == "cm-1" and d.instrument == "plain"
    # an explicit axis wins
    d2 = read_mat(path, variable="spectra", axis=[1.0, 2.0, 3.0], unit="cm-1")
    np.testing.assert_array_equal(d2.axis, [1.0, 2.0, 3.0])


def test_mat_errors(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="gone.mat"):
        read_mat(tmp_path / "gone.mat")
    write_text(tmp_path / "junk.mat", "this is not MATLAB")
    with pytest.raises(ValueError, match="junk.mat is not a readable MATLAB"):
        read_mat(tmp_path / "junk.mat")
    scipy.io.savemat(tmp_path / "two.mat", {"a": np.ones((2, 3)), "b": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"two.mat: expected exactly one spectra matrix, found a, b"):
        read_mat(tmp_path / "two.mat")
    with pytest.raises(ValueError, match="two.mat: no matrix named 'c'"):
        read_mat(tmp_path / "two.mat", variable="c")
    assert read_mat(tmp_path / "two.mat", variable="b", axis=[1.0, 2.0, 3.0], unit="nm").instrument == "b"
    with pytest.raises(ValueError, match="two.mat: variable 'a' has no axis"):
        read_mat(tmp_path / "two.mat", variable="a")
    scipy.io.savemat(tmp_path / "text.mat", {"words": "just text"})
    with pytest.raises(ValueError, match="found none"):
        read_mat(tmp_path / "text.mat")


def test_read_mat_tables_skips_non_matrices(tmp_path):
    path = tmp_path / "mix.mat"
    scipy.io.savemat(path, {"m": np.ones((2, 2)), "s": "text", "k": 3.0})
    assert list(read_mat_tables(path)) == ["m"]


# ----------------------------------------------------------------------- JCAMP
JDX_AFFN = """##TITLE={title}
##JCAMP-DX=4.24
##DATA TYPE=INFRARED SPECTRUM
##XUNITS={xunits}
##YUNITS=ABSORBANCE
##XFACTOR=1.0
##YFACTOR=1.0
##FIRSTX={first}
##LASTX={last}
##NPOINTS=5
##XYDATA=(X++(Y..Y))
{first} {y0} {y1} {y2}
{x3} {y3} {y4}
##END=
"""


def write_jdx(path, title, ys, first=1000.0, step=10.0, xunits="1/CM"):
    text = JDX_AFFN.format(
        title=title, xunits=xunits, first=first, last=first + 4 * step, x3=first + 3 * step,
        **{f"y{i}": y for i, y in enumerate(ys)},
    )
    return write_text(path, text)


def test_jcamp_single_file(tmp_path):
    path = write_jdx(tmp_path / "sampleA.jdx", "sample A", [0.1, 0.2, 0.3, 0.4, 0.5])
    d = read_jcamp(path)
    np.testing.assert_allclose(d.axis, [1000.0, 1010.0, 1020.0, 1030.0, 1040.0])
    np.testing.assert_allclose(d.X[0], [0.1, 0.2, 0.3, 0.4, 0.5])
    assert d.unit == "cm-1" and d.sample_ids.tolist() == ["sample A"] and d.instrument == "sampleA"


def test_jcamp_several_files_micrometers(tmp_path):
    folder = tmp_path / "ftir"
    folder.mkdir()
    paths = [
        write_jdx(folder / f"s{i}.jdx", f"s{i}", [i, i + 1, i + 2, i + 3, i + 4], first=1.0, step=0.25,
                  xunits="MICROMETERS")
        for i in range(3)
    ]
    d = read_jcamp(paths)
    assert d.X.shape == (3, 5) and d.instrument == "ftir" and d.unit == "nm"
    np.testing.assert_allclose(d.axis, [1000.0, 1250.0, 1500.0, 1750.0, 2000.0])
    np.testing.assert_allclose(d.X[:, 0], [0, 1, 2])
    assert read_spectra(paths[0]).n_samples == 1  # dispatcher by extension


def test_jcamp_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jdx"):
        read_jcamp(tmp_path / "missing.jdx")
    with pytest.raises(ValueError, match="no JCAMP-DX files"):
        read_jcamp([])
    no_data = write_text(tmp_path / "nodata.jdx", "##TITLE=x\n##JCAMP-DX=4.24\n##END=\n")
    with pytest.raises(ValueError, match="nodata.jdx: no spectral data"):
        read_jcamp(no_data)
    garbage = write_text(tmp_path / "garbage.jdx", "##TITLE without equals sign\n")
    with pytest.raises(ValueError, match="garbage.jdx is not a readable JCAMP-DX"):
        read_jcamp(garbage)
    a = write_jdx(tmp_path / "a.jdx", "a", [1, 2, 3, 4, 5])
    b = write_jdx(tmp_path / "b.jdx", "b", [1, 2, 3, 4, 5], first=2000.0)
    with pytest.raises(ValueError, match="b.jdx: its x values differ"):
        read_jcamp([a, b])


# ------------------------------------------------------------------ dispatcher
def test_read_spectra_dispatch(tmp_path, rng):
    data = spectra(rng)
    write_csv(data, tmp_path / "x.csv")
    np.testing.assert_array_equal(read_spectra(tmp_path / "x.csv").X, data.X)
    np.savez(tmp_path / "x.npz", X=data.X, wavelength=data.axis)
    np.testing.assert_array_equal(read_spectra(tmp_path / "x.npz").X, data.X)
    scipy.io.savemat(tmp_path / "x.mat", {"X": data.X, "axis": data.axis})
    np.testing.assert_array_equal(read_spectra(tmp_path / "x.mat", unit="nm").X, data.X)
    with pytest.raises(ValueError, match=r"unknown spectra file type '.xlsx'"):
        read_spectra(tmp_path / "x.xlsx")


# -------------------------------------------------------------- paired folders
def write_paired(folder, rng, axes=None, ids=None, props=True, standards=True):
    folder.mkdir(parents=True, exist_ok=True)
    axes = axes or {"m5": AXIS, "mp5": AXIS}
    ids = ids or {name: [str(i) for i in range(1, 6)] for name in axes}
    for name, axis in axes.items():
        write_csv(spectra(rng, n=len(ids[name]), axis=axis, ids=ids[name]), folder / f"{name}.csv")
        if standards:
            write_csv(spectra(rng, n=2, axis=axis), folder / f"{name}_nbs.csv")
    if props:
        write_text(
            folder / "properties.csv",
            "sample,moisture,oil\n1,10.0,3.0\n2,11.0,\n3,9.5,3.2\n4,10.5,3.1\n5,,2.9\n",
        )
    return folder


def test_paired_directory(tmp_path, rng):
    folder = write_paired(tmp_path / "farm", rng)
    data = load_paired_directory(folder)
    assert isinstance(data, PairedDataset)
    assert data.instrument_names == ["m5", "mp5"] and data.name == "farm"
    assert data.property_names == ("moisture", "oil")
    assert sorted(data.standards) == ["m5", "mp5"] and data.standards["m5"].n_samples == 2
    master, target = data.pair("m5", "mp5")
    assert master.sample_ids.tolist() == target.sample_ids.tolist() == ["1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(target.property("moisture"), [10.0, 11.0, 9.5, 10.5, np.nan])
    assert np.isnan(master.property("oil")[1])
    with pytest.raises(ValueError, match="unknown target instrument 'mp6'.*available: m5, mp5"):
        data.pair("m5", "mp6")
    with pytest.raises(KeyError, match="unknown instrument 'x'"):
        data["x"]


def test_paired_rows_matched_by_sample(tmp_path, rng):
    ids = {"m5": ["1", "2", "3", "4", "5"], "mp5": ["5", "3", "1", "2", "9"]}
    folder = write_paired(tmp_path / "shuffled", rng, ids=ids, standards=False)
    raw_mp5 = read_csv(folder / "mp5.csv")
    with pytest.warns(UserWarning, match="1 sample"):
        data = load_paired_directory(folder)
    assert data.sample_ids.tolist() == ["1", "2", "3", "5"]
    np.testing.assert_array_equal(data["mp5"].X, raw_mp5.X[[2, 3, 1, 0]])
    np.testing.assert_array_equal(data["mp5"].property("moisture"), [10.0, 11.0, 9.5, np.nan])


def test_paired_without_properties(tmp_path, rng):
    data = load_paired_directory(write_paired(tmp_path / "p", rng, props=False))
    assert data.property_names == () and data.properties is None


def test_paired_different_grids_refused_or_resampled(tmp_path, rng):
    fine = np.arange(1100.0, 1120.0, 1.0)  # 1100..1119, 20 channels
    coarse = np.arange(1104.0, 1130.0, 2.0)  # 1104..1128
    folder = write_paired(tmp_path / "grids", rng, axes={"a": fine, "b": coarse})
    with pytest.raises(ValueError, match="different spectral axes.*--resample"):
        load_paired_directory(folder)
    data = load_paired_directory(folder, resample=True)
    np.testing.assert_array_equal(data.axis, np.arange(1104.0, 1120.0, 1.0))  # fine grid on the overlap
    raw_b = read_csv(folder / "b.csv")
    np.testing.assert_allclose(data["b"].X[:, 0], raw_b.X[:, 0])  # 1104 is on both grids
    np.testing.assert_allclose(data["b"].X[:, 1], 0.5 * (raw_b.X[:, 0] + raw_b.X[:, 1]))
    assert data.standards["a"].n_channels == 16


def test_paired_directory_errors(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_paired_directory(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no instrument CSV"):
        load_paired_directory(empty)
    write_text(empty / "m5.csv", "1100,1102\n1,2\n")
    with pytest.raises(ValueError, match="has no 'sample' column"):
        load_paired_directory(empty)
    disjoint = write_paired(tmp_path / "disjoint", rng, ids={"m5": ["1", "2"], "mp5": ["3", "4"]}, props=False)
    with pytest.raises(ValueError, match="share no sample ids"):
        load_paired_directory(disjoint)


def test_paired_dataset_validates_alignment(rng):
    a = spectra(rng, ids=["1", "2", "3", "4"], instrument="a")
    b = spectra(rng, ids=["4", "3", "2", "1"], instrument="b")
    with pytest.raises(ValueError, match="same samples in the same order"):
        PairedDataset(instruments={"a": a, "b": b})
    with pytest.raises(ValueError, match="at least one instrument"):
        PairedDataset(instruments={})


def test_remeasured_adds_a_noisy_twin_of_one_instrument(rng):
    """The twin holds the same samples and labels, differs by white noise of the stated
    relative size (same seed, same noise), and bad requests are one clear error."""
    X = rng.normal(2.0, 0.5, (40, 30))
    a = SpectralData(X, np.arange(30.0) + 1000, sample_ids=[f"s{i}" for i in range(40)],
                     properties=rng.normal(size=(40, 1)), property_names=("y",))
    data = PairedDataset(instruments={"a": a}, property_names=("y",))
    twin = remeasured(data, "a", 0.01, seed=3)
    assert twin.instrument_names == ["a", "a-again"] and data.instrument_names == ["a"]
    noise = twin["a-again"].X - X
    assert np.std(noise) == pytest.approx(0.01 * np.std(X), rel=0.05) and abs(np.mean(noise)) < 1e-3
    np.testing.assert_array_equal(twin["a-again"].properties, a.properties)
    np.testing.assert_array_equal(remeasured(data, "a", 0.01, seed=3)["a-again"].X, twin["a-again"].X)
    with pytest.raises(ValueError, match="cannot re-measure unknown instrument 'b'"):
        remeasured(data, "b")
    with pytest.raises(ValueError, match="relative_noise must be a finite number ≥ 0"):
        remeasured(data, "a", -1.0)
    with pytest.raises(ValueError, match="already has an instrument named 'a-again'"):
        remeasured(twin, "a")


def test_remeasured_with_a_shift_is_a_unit_whose_axis_scale_is_off():
    """A band at 1500 nm on the original sits at 1500 − shift on the twin: the twin is the
    band evaluated at ``axis + shift``, on either axis direction; a shift that is not small
    against the axis is refused."""
    axis = np.arange(1100.0, 1900.0, 2.0)
    scale = np.linspace(0.5, 1.5, 5)[:, None]
    X = scale * np.exp(-0.5 * ((axis - 1500.0) / 20.0) ** 2)
    truth = scale * np.exp(-0.5 * ((axis + 0.7 - 1500.0) / 20.0) ** 2)
    for order in (slice(None), slice(None, None, -1)):
        a = SpectralData(X[:, order], axis[order], sample_ids=[f"s{i}" for i in range(5)])
        twin = remeasured(PairedDataset(instruments={"a": a}), "a", 0.0, shift=0.7)["a-again"]
        np.testing.assert_allclose(twin.X, truth[:, order], atol=2e-4)
        assert np.abs(twin.X - X[:, order]).max() > 0.01  # the shift is there
    with pytest.raises(ValueError, match="not small against the axis range"):
        remeasured(PairedDataset(instruments={"a": a}), "a", shift=500.0)
    with pytest.raises(ValueError, match="shift must be a finite number"):
        remeasured(PairedDataset(instruments={"a": a}), "a", shift=float("nan"))
    with pytest.raises(ValueError, match="stretch must be a finite number"):
        remeasured(PairedDataset(instruments={"a": a}), "a", stretch=float("inf"))


def test_remeasured_with_a_stretch_moves_each_band_by_the_shift_at_its_place_on_the_axis():
    """Stretch S on 1100–1898 nm: the twin reads the original at a + shift + S·t(a), t from −1
    at 1100 nm to +1 at 1898 nm, so a band at 1200 nm moves by −(shift − 0.749 S) and one at
    1800 nm by −(shift + 0.754 S) — on either axis direction."""
    axis = np.arange(1100.0, 1900.0, 2.0)
    centres = np.array([1200.0, 1800.0])
    X = np.exp(-0.5 * ((axis[None, :] - centres[:, None]) / 15.0) ** 2)
    position = (2.0 * axis - (1100.0 + 1898.0)) / 798.0
    moved = axis + 0.2 + 0.6 * position
    truth = np.exp(-0.5 * ((moved[None, :] - centres[:, None]) / 15.0) ** 2)
    for order in (slice(None), slice(None, None, -1)):
        a = SpectralData(X[:, order], axis[order], sample_ids=["low", "high"])
        twin = remeasured(PairedDataset(instruments={"a": a}), "a", 0.0, shift=0.2, stretch=0.6)["a-again"]
        np.testing.assert_allclose(twin.X, truth[:, order], atol=2e-4)
        peaks = axis[order][np.argmax(twin.X, axis=1)]
        # with shift 0.2 and S 0.6 the low band moves up by 0.25 nm and the high one down by 0.65 nm
        assert peaks[0] == 1200.0 and peaks[1] == 1800.0
        assert twin.X[0, list(axis[order]).index(1202.0)] > twin.X[0, list(axis[order]).index(1198.0)]
        assert twin.X[1, list(axis[order]).index(1798.0)] > twin.X[1, list(axis[order]).index(1802.0)]


def test_paired_subset_of_instruments_resamples_onto_their_own_overlap(tmp_path, rng):
    """A folder like sugarcane: two overlapping instruments and one that overlaps neither."""
    folder = write_paired(tmp_path / "mixed", rng, axes={"a": np.arange(1100.0, 1120.0, 1.0),
                                                          "b": np.arange(1104.0, 1130.0, 2.0),
                                                          "vis": np.arange(500.0, 700.0, 10.0)})
    with pytest.raises(ValueError, match="ranges do not overlap"):
        load_paired_directory(folder, resample=True)
    data = load_paired_directory(folder, resample=True, instruments=["a", "b"])
    assert data.instrument_names == ["a", "b"] and sorted(data.standards) == ["a", "b"]
    np.testing.assert_array_equal(data.axis, np.arange(1104.0, 1120.0, 1.0))
    with pytest.raises(ValueError, match="unknown instrument 'c' in .*available: a, b, vis"):
        load_paired_directory(folder, instruments=["a", "c"])


def test_cli_benchmark_reads_only_the_pairs_instruments(tmp_path, rng):
    from typer.testing import CliRunner

    from spektron.cli.main import app

    folder = write_paired(tmp_path / "mixed", rng, axes={"a": np.arange(1100.0, 1120.0, 1.0),
                                                          "b": np.arange(1104.0, 1130.0, 2.0),
                                                          "vis": np.arange(500.0, 700.0, 10.0)})
    res = CliRunner().invoke(app, ["benchmark", str(folder), "--pairs", "a:b", "--methods", "none,target",
                                   "--properties", "oil", "--k", "0", "--repeats", "1", "--resample",
                                   "--cal-fraction", "0.75", "--no-plots", "--no-progress", "--out",
                                   str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "a → b, oil" in (tmp_path / "out" / "summary.md").read_text()


def test_a_text_file_named_mat_is_one_clear_error(tmp_path):
    fake = tmp_path / "fake.mat"
    fake.write_text("hello this is text\n1 2 3\n")
    with pytest.raises(ValueError, match=r"fake.mat is not a readable MATLAB .mat file \(IndexError\)"):
        read_spectra(fake)


def test_properties_of_samples_without_spectra_are_reported(tmp_path, rng):
    folder = write_paired(tmp_path / "extra", rng, standards=False)
    with open(folder / "properties.csv", "a") as fh:
        fh.write("99,12.0,3.3\n98,11.0,3.1\n")
    with pytest.warns(UserWarning, match="2 sample\\(s\\) have reference values but no spectra"):
        data = load_paired_directory(folder)
    assert data.n_samples == 5
