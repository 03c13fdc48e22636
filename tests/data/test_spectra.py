"""SpectralData: validation, unit conversion, resampling, selection and alignment."""

from __future__ import annotations

import numpy as np
import pytest

from spektron.data.spectra import (
    SpectralData,
    check_axis,
    align_by_sample,
    common_axis,
    interpolate_spectra,
    nm_to_wavenumber,
    normalise_unit,
)


def make(n=4, p=5, **kw):
    X = np.arange(n * p, dtype=float).reshape(n, p)
    fields = dict(X=X, axis=np.linspace(1000.0, 1400.0, p), unit="nm")
    fields.update(kw)
    return SpectralData(**fields)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_spectra_rejected(bad):
    X = np.ones((3, 4))
    X[1, 2] = bad
    with pytest.raises(ValueError, match="non-finite.*row 1, column 2"):
        SpectralData(X=X, axis=np.arange(4.0) + 1000)


@pytest.mark.parametrize("axis", [[1, 2, 2, 3], [1, 3, 2, 4], [4, 3, 3, 1]])
def test_non_monotonic_axis_rejected(axis):
    with pytest.raises(ValueError, match="strictly monotonic"):
        SpectralData(X=np.ones((2, 4)), axis=np.asarray(axis, float))


def test_descending_axis_accepted():
    d = SpectralData(X=np.ones((2, 3)), axis=[3.0, 2.0, 1.0], unit="cm-1")
    assert d.axis[0] == 3.0


def test_non_finite_axis_rejected():
    with pytest.raises(ValueError, match="axis contains non-finite"):
        SpectralData(X=np.ones((2, 3)), axis=[1.0, np.nan, 3.0])


def test_axis_length_mismatch_rejected():
    with pytest.raises(ValueError, match="axis has 3 values but the spectra have 4 channels"):
        SpectralData(X=np.ones((2, 4)), axis=[1.0, 2.0, 3.0])


def test_property_rows_mismatch_rejected():
    with pytest.raises(ValueError, match="properties have 3 rows but there are 2 spectra"):
        SpectralData(X=np.ones((2, 3)), axis=[1.0, 2.0, 3.0], properties=np.ones((3, 1)))


def test_property_names_mismatch_rejected():
    with pytest.raises(ValueError, match="2 property names given for 1"):
        SpectralData(X=np.ones((2, 3)), axis=[1.0, 2.0, 3.0], properties=[1.0, 2.0], property_names=["a", "b"])


def test_infinite_property_rejected_nan_allowed():
    d = make(n=2, properties=[1.0, np.nan], property_names=["y"])
    assert np.isnan(d.property("y")[1])
    with pytest.raises(ValueError, match="infinite"):
        make(n=2, properties=[1.0, np.inf])


@pytest.mark.parametrize("shape", [(0, 3), (2, 0)])
def test_empty_data_rejected(shape):
    with pytest.raises(ValueError, match="empty"):
        SpectralData(X=np.ones(shape), axis=np.arange(shape[1], dtype=float))


def test_empty_axis_rejected():
    with pytest.raises(ValueError, match="axis is empty"):
        check_axis(np.array([]))


def test_duplicate_sample_ids_rejected():
    with pytest.raises(ValueError, match="duplicates"):
        make(n=3, sample_ids=["a", "b", "a"])


def test_sample_ids_length_rejected():
    with pytest.raises(ValueError, match="sample_ids has 2 entries but there are 3"):
        make(n=3, sample_ids=["a", "b"])


def test_unknown_unit_rejected():
    with pytest.raises(ValueError, match="unknown spectral unit 'furlong'"):
        make(unit="furlong")
    assert normalise_unit("1/cm") == "cm-1"
    assert normalise_unit(" Nanometers ") == "nm"


def test_unknown_property_names_available():
    d = make(n=2, properties=[[1.0, 2.0], [3.0, 4.0]], property_names=["oil", "water"])
    assert d.property("water").tolist() == [2.0, 4.0]
    with pytest.raises(KeyError, match="available: oil, water"):
        d.property("fat")


def test_one_dimensional_spectrum_becomes_one_row():
    d = SpectralData(X=[1.0, 2.0, 3.0], axis=[1.0, 2.0, 3.0])
    assert d.X.shape == (1, 3)


# ------------------------------------------------------------ units & resample
def test_nm_to_wavenumber_values_and_order():
    d = make(n=2, p=3, axis=np.array([1000.0, 2000.0, 2500.0]))
    w = d.to_unit("cm-1")
    assert w.unit == "cm-1"
    np.testing.assert_allclose(w.axis, [4000.0, 5000.0, 10000.0])
    # channel order is reversed together with the axis: the 1000 nm column is now last
    np.testing.assert_array_equal(w.X[:, -1], d.X[:, 0])
    np.testing.assert_array_equal(w.X[:, 0], d.X[:, -1])


def test_unit_round_trip_is_exact():
    d = make(n=3, p=7)
    back = d.to_unit("cm-1").to_unit("nm")
    np.testing.assert_allclose(back.axis, d.axis, rtol=1e-12)
    np.testing.assert_array_equal(back.X, d.X)
    assert d.to_unit("nm") is d


def test_nm_to_wavenumber_refuses_non_positive():
    with pytest.raises(ValueError, match="positive"):
        nm_to_wavenumber(np.array([0.0, 1.0]))


def test_resample_exact_on_linear_spectra():
    axis = np.linspace(1100.0, 2500.0, 71)
    slopes = np.array([[0.5], [-2.0], [3.0]])
    X = slopes * axis + 7.0
    d = SpectralData(X=X, axis=axis)
    new_axis = np.linspace(1103.3, 2497.1, 50)
    r = d.resample(new_axis)
    np.testing.assert_allclose(r.X, slopes * new_axis + 7.0, rtol=1e-12)
    np.testing.assert_array_equal(r.axis, new_axis)


def test_resample_descending_source_axis():
    axis = np.linspace(10.0, 1.0, 10)  # descending
    d = SpectralData(X=2 * axis[None, :], axis=axis, unit="cm-1")
    r = d.resample(np.array([1.5, 2.5, 9.5]))
    np.testing.assert_allclose(r.X[0], [3.0, 5.0, 19.0])


def test_resample_outside_range_refused():
    d = make(p=5)  # 1000..1400 nm
    with pytest.raises(ValueError, match="falls outside the source range"):
        d.resample(np.linspace(990.0, 1300.0, 5))
    with pytest.raises(ValueError, match="falls outside"):
        interpolate_spectra(d.X, d.axis, np.array([1200.0, 1401.0]))


def test_resample_in_other_unit():
    d = SpectralData(X=np.ones((1, 11)), axis=np.linspace(1000.0, 2000.0, 11))
    r = d.resample(np.array([6000.0, 8000.0]), unit="cm-1")
    assert r.unit == "cm-1"
    np.testing.assert_allclose(r.X, 1.0)


def test_common_axis_is_the_overlap():
    a = SpectralData(X=np.ones((1, 11)), axis=np.linspace(1000.0, 2000.0, 11))
    b = SpectralData(X=np.ones((1, 31)), axis=np.linspace(1200.0, 2400.0, 31))
    grid = common_axis([a, b])
    assert grid.min() >= 1200.0 and grid.max() <= 2000.0
    assert grid.size == 21  # b's 40 nm grid inside [1200, 2000]
    c = SpectralData(X=np.ones((1, 3)), axis=[3000.0, 3100.0, 3200.0])
    with pytest.raises(ValueError, match="do not overlap"):
        common_axis([a, c])


# ------------------------------------------------------- select & alignment
def test_select_indices_mask_and_slice():
    d = make(n=4, sample_ids=list("abcd"), properties=[1.0, 2.0, 3.0, 4.0])
    s = d.select([2, 0])
    assert s.sample_ids.tolist() == ["c", "a"]
    np.testing.assert_array_equal(s.X, d.X[[2, 0]])
    np.testing.assert_array_equal(s.properties[:, 0], [3.0, 1.0])
    assert d.select(np.array([True, False, False, True])).sample_ids.tolist() == ["a", "d"]
    assert d.select(slice(1, 3)).n_samples == 2
    with pytest.raises(ValueError, match="boolean row mask"):
        d.select(np.array([True, False]))
    with pytest.raises(IndexError):
        d.select([7])
    with pytest.raises(ValueError, match="selection is empty"):
        d.select([])


def test_align_by_sample_keeps_shared_in_first_order():
    a = make(n=4, sample_ids=["s1", "s2", "s3", "s4"], instrument="A")
    b = make(n=3, sample_ids=["s4", "s9", "s2"], instrument="B")
    a2, b2 = align_by_sample(a, b)
    assert a2.sample_ids.tolist() == ["s2", "s4"] == b2.sample_ids.tolist()
    np.testing.assert_array_equal(b2.X, b.X[[2, 0]])


def test_align_by_sample_errors():
    a = make(n=2, sample_ids=["x", "y"], instrument="A")
    with pytest.raises(ValueError, match="need sample_ids"):
        align_by_sample(a, make(n=2))
    with pytest.raises(ValueError, match="share no sample ids"):
        align_by_sample(a, make(n=2, sample_ids=["p", "q"], instrument="B"))


def test_replace_revalidates_and_drops_names_with_properties():
    d = make(n=2, properties=[1.0, 2.0], property_names=["y"])
    assert d.replace(properties=None).property_names == ()
    with pytest.raises(ValueError, match="non-finite"):
        d.replace(X=np.full((2, 5), np.nan))


def test_channel_count_of_a_fitted_estimator_checked_in_one_place():
    """Every fitted estimator asks check_spectra for its channel count, so the error reads
    the same everywhere: the name, the count given, what was fitted and its count."""
    from spektron.baselines import DirectStandardization, PLSCalibration
    from spektron.data.spectra import check_spectra

    assert check_spectra(np.ones((2, 5)), n_channels=5).shape == (2, 5)
    with pytest.raises(ValueError, match="^target spectra have 4 channels but the method was fitted on 5$"):
        check_spectra(np.ones((2, 4)), "target spectra", 5, "the method was fitted on")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 12)), rng.normal(size=30)
    with pytest.raises(ValueError, match="spectra have 11 channels but the model was calibrated on 12"):
        PLSCalibration(max_components=3).fit(X, y).predict(X[:, :11])
    with pytest.raises(ValueError, match="spectra have 11 channels but the map was fitted on 12"):
        DirectStandardization().fit(X[:10] + 0.1, X_master=X[:10]).transform(X[:, :11])


def test_reference_values_checked_in_one_place():
    from spektron.data.spectra import check_targets

    np.testing.assert_array_equal(check_targets([[1], [2]], 2), [1.0, 2.0])
    with pytest.raises(ValueError, match="^master_y has 3 values for 4 master spectra$"):
        check_targets([1, 2, 3], 4, "master_y", "master spectra")
    with pytest.raises(ValueError, match="^y contains NaN or inf$"):
        check_targets([1, np.nan], 2)
