"""The prediction offset from pairs and batch (spektron.transfer.offset), on known numbers."""

import numpy as np
import pytest
from scipy.stats import chi2

from spektron.transfer.offset import combine_offsets, shift_shrinkage


def test_agreeing_estimates_are_weighted_by_their_stated_errors():
    """Within the batch's sampling error of each other, the batch keeps its sampling
    variance and the offset is the inverse-variance mean."""
    off, d = combine_offsets(1.0, 0.04, 1.1, 0.01)
    assert d["unlabelled_var"] == 0.04 and d["batch_shift_sd"] == 0.0
    assert off == pytest.approx((1.0 / 0.04 + 1.1 / 0.01) / (1 / 0.04 + 1 / 0.01))
    assert d["pairs_share"] == pytest.approx(0.8) and d["sd"] == pytest.approx(np.sqrt(1 / (1 / 0.04 + 1 / 0.01)))


def test_a_disagreement_beyond_both_errors_is_the_batchs_chemistry():
    """(cu − cp)² = 4 against 0.04 + 0.01: the batch's error variance becomes 4 − 0.01, the
    pairs take 99.75 % of the offset, and the batch's shift is read as √3.99."""
    off, d = combine_offsets(3.0, 0.04, 1.0, 0.01)
    assert d["unlabelled_var"] == pytest.approx(3.99)
    assert d["pairs_share"] == pytest.approx(3.99 / 4.0)
    assert off == pytest.approx(1.0 + 2.0 * 0.01 / 4.0)
    assert d["batch_shift_sd"] == pytest.approx(np.sqrt(3.95))
    # however far the batch strays, it moves the offset by at most half the pairs' standard error
    for gap in (0.5, 1.0, 10.0, 1e3):
        assert abs(combine_offsets(1.0 + gap, 0.0, 1.0, 0.01)[0] - 1.0) <= 0.5 * np.sqrt(0.01) + 1e-12


def test_one_source_alone_and_none():
    assert combine_offsets(None, None, 0.7, 0.1)[0] == 0.7
    assert combine_offsets(0.7, 0.1, None, None, shrinkage=0.5)[0] == pytest.approx(0.35)
    off, d = combine_offsets(None, None, None, None)
    assert off == 0.0 and d["source"] == "none"
    # the batch's James–Stein factor scales the combined offset too
    assert combine_offsets(1.0, 0.04, 1.1, 0.01, shrinkage=0.0)[0] == 0.0


def test_the_shrinkage_is_james_stein_on_hotellings_t2():
    """T² equals Hotelling's two-sample statistic in the leading directions, and the factor
    is max(0, 1 − (q − 2)/T²)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 4)) @ np.diag([3.0, 2.0, 1.0, 0.5])
    B = rng.standard_normal((20, 4)) @ np.diag([3.0, 2.0, 1.0, 0.5])
    d = np.array([0.5, -0.2, 0.1, 0.3])
    Ac, Bc = A - A.mean(0), B - B.mean(0)
    factor, t2, q = shift_shrinkage(Ac, Bc, d, components=4)
    S = (Ac.T @ Ac + Bc.T @ Bc) / 78
    expected = float(d @ np.linalg.solve(S, d)) * 60 * 20 / 80
    assert q == 4 and t2 == pytest.approx(expected) and factor == pytest.approx(max(0.0, 1 - 2 / expected))


def test_two_samples_of_one_population_are_mostly_shrunk_away_and_a_shift_is_kept():
    """Under the null T² is about χ²_q: the factor is 0 in about half of the draws and small in
    the rest; a shift of a few standard errors leaves it near one."""
    rng = np.random.default_rng(1)
    factors, shifted = [], []
    for _ in range(200):
        A, B = rng.standard_normal((64, 30)), rng.standard_normal((16, 30))
        factors.append(shift_shrinkage(A - A.mean(0), B - B.mean(0), B.mean(0) - A.mean(0))[0])
        C = B + 2.0
        shifted.append(shift_shrinkage(A - A.mean(0), C - C.mean(0), C.mean(0) - A.mean(0))[0])
    factors = np.array(factors)
    assert 0.3 < np.mean(factors == 0.0) < 0.8 and np.median(factors) < 0.2
    assert min(shifted) > 0.85
    assert chi2.ppf(0.5, 10) > 8  # q = 10: the factor is positive only when T² exceeds 8


def test_too_few_spectra_shrink_nothing():
    A = np.zeros((2, 5))
    assert shift_shrinkage(A, A[:1], np.ones(5)) == (1.0, pytest.approx(np.nan, nan_ok=True), 0)
