import numpy as np
import pytest
from sklearn.base import clone

from spektron.baselines import (
    DirectStandardization,
    PiecewiseDirectStandardization,
    PLSCalibration,
    SlopeBiasCorrection,
)
from spektron.methods import TransferContext, available_methods, get_method, register_method
from spektron.methods.registry import method_spec

CLASSICAL = ["none", "target", "ds", "pds", "sst", "sbc", "augment", "meancorr"]


def _chem(rng, n, p=40, rank=3):
    """Smooth low-rank 'spectra' and a property linear in the concentrations."""
    grid = np.linspace(0, 1, p)
    bands = np.stack([np.exp(-((grid - c) ** 2) / 0.01) for c in np.linspace(0.2, 0.8, rank)])
    C = rng.uniform(0.5, 1.5, size=(n, rank))
    return C @ bands + 0.1, C @ np.array([1.0, -0.5, 2.0][:rank])


def _context(rng, k, target_fn, n=40, p=40):
    X, y = _chem(rng, n, p)
    Xt = target_fn(X)
    return TransferContext(
        master_X=X, master_y=y, axis=np.arange(p, dtype=float), unit="nm",
        transfer_master_X=X[:k], transfer_target_X=Xt[:k], transfer_y=y[:k],
        target_unlabelled_X=Xt, target_cal_X=Xt, target_cal_y=y,
    ), X, Xt, y


def test_registry_lists_classical_methods_with_pair_requirements():
    names = available_methods()
    assert all(m in names for m in CLASSICAL)
    assert {m: method_spec(m).requires_pairs for m in CLASSICAL} == {
        "none": False, "target": False, "ds": True, "pds": True, "sst": True, "sbc": True, "augment": True,
        "meancorr": False}
    for m in CLASSICAL:
        est = get_method(m)
        assert est.requires_pairs == method_spec(m).requires_pairs
        clone(est).get_params()
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        get_method("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_method("ds", lambda: None, requires_pairs=True)


def test_ds_recovers_an_exact_linear_map(rng):
    p = 8
    A = np.eye(p) + 0.2 * rng.normal(size=(p, p))
    b = rng.normal(size=p)
    Xt = rng.normal(size=(25, p))
    Xm = Xt @ A + b
    ds = DirectStandardization(alpha=0.0).fit(Xt, X_master=Xm)
    X_new = rng.normal(size=(5, p))
    np.testing.assert_allclose(ds.transform(X_new), X_new @ A + b, atol=1e-8)
    # leave-one-out picks (near) no shrinkage when the map is exact
    auto = DirectStandardization().fit(Xt, X_master=Xm)
    assert auto.alpha_ <= 1e-6
    np.testing.assert_allclose(auto.transform(X_new), X_new @ A + b, atol=1e-4)


def test_ds_with_one_pair_is_an_offset_correction(rng):
    Xt = rng.normal(size=(1, 10))
    ds = DirectStandardization().fit(Xt, X_master=Xt + 3.0)
    np.testing.assert_allclose(ds.transform(Xt[0] * 2), Xt * 2 + 3.0)
    assert np.isinf(ds.alpha_)


def test_pds_recovers_a_banded_map(rng):
    p, h = 30, 1
    Xt = rng.normal(size=(20, p))
    Xm = 0.9 * Xt + 0.05 * np.roll(Xt, 1, axis=1) + 0.05 * np.roll(Xt, -1, axis=1) + 0.2
    Xm[:, 0], Xm[:, -1] = 0.9 * Xt[:, 0] + 0.2, 0.9 * Xt[:, -1] + 0.2  # no wrap-around at the ends
    pds = PiecewiseDirectStandardization(half_window=h, alpha=0.0).fit(Xt, X_master=Xm)
    X_new = rng.normal(size=(4, p))
    expect = 0.9 * X_new + 0.05 * np.roll(X_new, 1, axis=1) + 0.05 * np.roll(X_new, -1, axis=1) + 0.2
    expect[:, 0], expect[:, -1] = 0.9 * X_new[:, 0] + 0.2, 0.9 * X_new[:, -1] + 0.2
    np.testing.assert_allclose(pds.transform(X_new), expect, atol=1e-8)


def test_sbc_removes_a_known_slope_and_bias(rng):
    # a gain on the target spectra makes the master predictions an affine function of the truth
    ctx, X, Xt, y = _context(rng, 8, lambda X: 1.3 * X)
    sbc = SlopeBiasCorrection().fit(ctx)
    ref = ctx.fit_master(PLSCalibration()).predict(X[20:])
    np.testing.assert_allclose(sbc.predict(Xt[20:]), ref, atol=1e-8)
    assert abs(sbc.slope_ - 1 / 1.3) < 1e-8
    none = get_method("none").fit(ctx).predict(Xt[20:])
    assert np.sqrt(np.mean((none - y[20:]) ** 2)) > 0.1


@pytest.mark.parametrize("method", ["ds", "pds", "sst", "augment"])
def test_pair_methods_fix_a_baseline_shift(rng, method):
    ctx, X, Xt, y = _context(rng, 10, lambda X: X + 0.3 + 0.2 * np.linspace(0, 1, X.shape[1]))
    err_none = np.sqrt(np.mean((get_method("none").fit(ctx).predict(Xt[20:]) - y[20:]) ** 2))
    err = np.sqrt(np.mean((get_method(method).fit(ctx).predict(Xt[20:]) - y[20:]) ** 2))
    assert err < 0.1 * err_none


def test_meancorr_removes_an_additive_instrument_difference_without_pairs(rng):
    ctx, X, Xt, y = _context(rng, 0, lambda X: X + 0.3 + 0.2 * np.linspace(0, 1, X.shape[1]))
    est = get_method("meancorr").fit(ctx)
    np.testing.assert_allclose(est.offset_, -(0.3 + 0.2 * np.linspace(0, 1, X.shape[1])), atol=1e-12)
    none = get_method("none").fit(ctx).predict(Xt)
    np.testing.assert_allclose(est.predict(Xt), get_method("none").fit(ctx).predict(X), atol=1e-8)
    assert np.sqrt(np.mean((none - y) ** 2)) > 0.1
    no_target = TransferContext(master_X=X, master_y=y, axis=np.arange(X.shape[1], dtype=float), unit="nm",
                                transfer_master_X=X[:0], transfer_target_X=Xt[:0], transfer_y=y[:0])
    with pytest.raises(ValueError, match="'meancorr' needs unlabelled target spectra"):
        get_method("meancorr").fit(no_target)


def test_target_bound_and_none_need_no_pairs(rng):
    ctx, X, Xt, y = _context(rng, 0, lambda X: 1.1 * X + 0.05)
    assert ctx.k == 0
    assert np.allclose(get_method("target").fit(ctx).predict(Xt), y, atol=1e-6)
    get_method("none").fit(ctx).predict(Xt)


@pytest.mark.parametrize("method", ["ds", "pds", "sst", "sbc", "augment"])
def test_k0_for_a_pairs_method_is_one_clear_error(rng, method):
    ctx, *_ = _context(rng, 0, lambda X: X)
    with pytest.raises(ValueError, match=rf"^method '{method}' needs at least 1 transfer sample \(k ≥ 1\)$"):
        get_method(method).fit(ctx)


def test_master_model_is_fitted_once_and_shared(rng):
    ctx, *_ = _context(rng, 5, lambda X: X + 0.1)
    for m in ["none", "ds", "sbc", "sst"]:
        get_method(m).fit(ctx)
    assert ctx.cache.misses == 1 and ctx.cache.hits == 3


def test_context_validation(rng):
    X, y = _chem(rng, 10)
    axis = np.arange(X.shape[1], dtype=float)
    with pytest.raises(ValueError, match="channels"):
        TransferContext(X, y, axis, transfer_master_X=X[:2, :5], transfer_target_X=X[:2, :5], transfer_y=y[:2])
    with pytest.raises(ValueError, match="NaN"):
        TransferContext(X, np.where(np.arange(10) == 0, np.nan, y), axis)
    with pytest.raises(ValueError, match="together"):
        TransferContext(X, y, axis, transfer_master_X=X[:2])
    with pytest.raises(ValueError, match="non-finite"):
        TransferContext(np.where(X > 1, np.nan, X), y, axis)
    with pytest.raises(TypeError, match="TransferContext"):
        get_method("none").fit(X)
