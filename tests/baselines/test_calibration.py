import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cross_decomposition import PLSRegression

from spektron.baselines.calibration import PLSCalibration, nested_pls_coefficients
from spektron.preprocessing import make_preprocessing


def _low_rank(rng, n=60, p=80, rank=4, noise=1e-3):
    T = rng.normal(size=(n, rank))
    P = rng.normal(size=(rank, p))
    X = T @ P + noise * rng.normal(size=(n, p))
    y = T @ rng.normal(size=rank) + noise * rng.normal(size=n)
    return X, y


def test_nested_coefficients_match_separate_fits(rng):
    X, y = _low_rank(rng, rank=6, noise=0.05)
    B = nested_pls_coefficients(PLSRegression(8, scale=False).fit(X, y))
    for a in (1, 3, 8):
        ref = PLSRegression(a, scale=False).fit(X, y).coef_.ravel()
        np.testing.assert_allclose(B[:, a - 1], ref, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("rank", [2, 4, 7])
def test_cv_picks_the_true_rank(rng, rank):
    X, y = _low_rank(rng, rank=rank)
    model = PLSCalibration(max_components=12, rule="1se").fit(X, y)
    assert model.n_components_ == rank
    assert model.rmsecv_.shape == (12,)
    assert np.sqrt(np.mean((model.predict(X) - y) ** 2)) < 0.01


def test_preprocessing_is_applied_and_clone_works(rng):
    X, y = _low_rank(rng)
    model = PLSCalibration(max_components=6, preprocessing=make_preprocessing("center")).fit(X, y)
    assert model.preprocessing_ is not None
    assert clone(model).get_params()["max_components"] == 6
    assert model.predict(X).shape == (X.shape[0],)


def test_small_calibration_caps_components(rng):
    X, y = _low_rank(rng, n=6)
    model = PLSCalibration(max_components=20).fit(X, y)
    assert 1 <= model.n_components_ <= 3


def test_bad_inputs(rng):
    X, y = _low_rank(rng)
    with pytest.raises(ValueError, match="reference values"):
        PLSCalibration().fit(X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        PLSCalibration().fit(X, np.where(np.arange(y.size) == 3, np.nan, y))
    with pytest.raises(ValueError, match="max_components"):
        PLSCalibration(max_components=0).fit(X, y)
    with pytest.raises(ValueError, match="channels"):
        PLSCalibration(max_components=3).fit(X, y).predict(X[:, :10])
