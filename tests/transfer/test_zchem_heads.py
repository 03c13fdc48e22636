"""Regression heads and retrieval on z_chem codes whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from spektron.transfer.zchem_heads import NearestMasterRetriever, ZChemRegressor


def test_linear_property_is_learned_and_auto_picks_a_linear_head(rng):
    Z = rng.standard_normal((80, 12))
    w = rng.standard_normal(12)
    y = Z @ w + 0.01 * rng.standard_normal(80)
    reg = ZChemRegressor(head="auto").fit(Z[:60], y[:60])
    assert reg.head_ in ("ridge", "pls")
    assert set(reg.cv_rmse_) == {"knn", "ridge", "pls"}
    assert reg.cv_rmse_[reg.head_] < reg.cv_rmse_["knn"]
    err = np.sqrt(np.mean((reg.predict(Z[60:]) - y[60:]) ** 2))
    assert err < 0.05 * y.std()


def test_clustered_property_suits_knn(rng):
    centres = rng.standard_normal((6, 5)) * 10
    labels = rng.integers(0, 6, 90)
    Z = centres[labels] + 0.1 * rng.standard_normal((90, 5))
    y = np.sin(3 * labels) * 5  # not linear in the codes
    reg = ZChemRegressor(head="auto").fit(Z[:70], y[:70])
    assert reg.head_ == "knn"
    np.testing.assert_allclose(reg.predict(Z[70:]), y[70:], atol=1e-6)


def test_a_tuple_of_heads_is_auto_among_those_only(rng):
    Z = rng.standard_normal((60, 6))
    y = Z @ rng.standard_normal(6) + 0.1 * rng.standard_normal(60)
    auto = ZChemRegressor(head="auto").fit(Z, y)
    two = ZChemRegressor(head=("knn", "ridge")).fit(Z, y)
    assert two.cv_rmse_ == {name: auto.cv_rmse_[name] for name in ("knn", "ridge")}
    assert two.head_ == min(two.cv_rmse_, key=two.cv_rmse_.get)
    one = ZChemRegressor(head=("ridge",)).fit(Z, y)
    assert one.head_ == "ridge" and one.cv_rmse_ == {}
    for bad in (("knn", "lasso"), (), "lasso"):
        with pytest.raises(ValueError, match="unknown head"):
            ZChemRegressor(head=bad).fit(Z, y)


def test_fixed_head_and_pls_component_choice(rng):
    Z = rng.standard_normal((50, 8))
    y = 2 * Z[:, 0] - Z[:, 1]
    reg = ZChemRegressor(head="pls").fit(Z, y)
    assert reg.head_ == "pls" and reg.cv_rmse_ == {}
    assert 1 <= reg.model_.n_components_ <= 8
    assert np.sqrt(np.mean((reg.predict(Z) - y) ** 2)) < 1e-6 + 0.01


def test_retrieval_finds_the_same_sample(rng):
    Zm = rng.standard_normal((30, 6))
    Zt = Zm + 0.01 * rng.standard_normal((30, 6))  # same samples, other instrument
    idx, dist = NearestMasterRetriever().fit(Zm).retrieve(Zt[::-1])
    np.testing.assert_array_equal(idx[:, 0], np.arange(30)[::-1])
    assert np.all(dist < 0.01)


def test_bad_inputs_are_refused(rng):
    Z = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match="head"):
        ZChemRegressor(head="svm").fit(Z, np.arange(10.0))
    with pytest.raises(ValueError, match="reference values"):
        ZChemRegressor().fit(Z, np.arange(9.0))
    bad = Z.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ZChemRegressor().fit(bad, np.arange(10.0))
    reg = ZChemRegressor(head="ridge").fit(Z, np.arange(10.0))
    with pytest.raises(ValueError, match="dimensions"):
        reg.predict(rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match="n_neighbors"):
        NearestMasterRetriever(n_neighbors=11).fit(Z)


def test_auto_head_works_on_a_small_calibration_set():
    """With ~16 codes the PLS head's inner CV folds hold 10 rows: its component cap must
    follow the inner folds (this used to fail with "n_components upper bound is 9")."""
    from spektron.transfer.zchem_heads import ZChemRegressor

    rng = np.random.default_rng(1)
    Z = rng.normal(size=(16, 24))
    y = Z[:, 0] * 2.0 + 0.01 * rng.normal(size=16)
    reg = ZChemRegressor(head="auto").fit(Z, y)
    assert np.isfinite(reg.predict(Z)).all()
    pls = ZChemRegressor(head="pls").fit(Z, y)
    assert np.corrcoef(pls.predict(Z), y)[0, 1] > 0.9
