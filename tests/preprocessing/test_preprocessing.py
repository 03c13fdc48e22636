import numpy as np
import pytest
from sklearn.base import clone

from spektron.preprocessing import MeanCentering, StandardNormalVariate, make_preprocessing


def test_snv_rows_have_zero_mean_unit_std(rng):
    X = rng.normal(size=(5, 40)) * 3 + 7
    Z = StandardNormalVariate().fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=1), 1, atol=1e-12)


def test_first_derivative_of_a_line_is_its_slope():
    x = np.arange(50, dtype=float)
    X = np.vstack([2.0 * x + 1, -0.5 * x])
    D = make_preprocessing("sg1:7:2").fit_transform(X)
    np.testing.assert_allclose(D[:, 5:-5], np.array([[2.0], [-0.5]]) * np.ones((1, 40)), atol=1e-9)


def test_msc_removes_multiplicative_and_additive_effects(rng):
    ref = np.sin(np.linspace(0, 6, 80)) + 2
    X = np.vstack([a * ref + b for a, b in [(1.0, 0.0), (1.5, 0.3), (0.7, -0.2)]])
    Z = make_preprocessing("msc").fit_transform(X)
    np.testing.assert_allclose(Z - Z[0], 0, atol=1e-10)


def test_mean_centering_and_chain_clone(rng):
    X = rng.normal(size=(6, 10)) + 4
    np.testing.assert_allclose(MeanCentering().fit_transform(X).mean(axis=0), 0, atol=1e-12)
    pipe = make_preprocessing("snv+sg:9:2+center")
    assert [name for name, _ in clone(pipe).steps] == ["0_snv", "1_sg", "2_center"]
    assert make_preprocessing("none") is None and make_preprocessing("") is None


@pytest.mark.parametrize("spec,match", [("foo", "unknown preprocessing step"), ("sg1:8", "odd"),
                                        ("sg2:9:1", "derivative order"), ("sg:x", "integers")])
def test_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        make_preprocessing(spec)
