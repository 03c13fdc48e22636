"""The batch check: does the unlabelled batch look unlike the calibration set? (spektron.transfer.batch)"""

import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression

from spektron.transfer.batch import batch_check, batch_line


def _population(rng, n):
    """Spectra of three components; y = the first. The calibration's coefficient is exact."""
    conc = rng.uniform(0.0, 1.0, (n, 3))
    loadings = np.array([[1.0, 0.2, 0.0, 0.5], [0.0, 1.0, 0.3, 0.1], [0.2, 0.0, 1.0, 0.4]])
    basis = np.linalg.qr(rng.standard_normal((40, 4)))[0].T
    return conc, (conc @ loadings) @ basis + 0.01 * rng.standard_normal((n, 40)), loadings @ basis


def _coef(X, y):
    """A three-component PLS, as a cross-validated calibration of three components would be."""
    return PLSRegression(n_components=3, scale=False).fit(X, y).coef_.ravel()


def test_a_batch_from_one_end_of_the_range_is_flagged_and_a_random_one_is_not():
    """A batch of the top fifth of y spreads ~1/25 as much along the calibration as the
    calibration set: flagged in every draw; random batches in about the level's share."""
    flagged, random_flags = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        conc, X, _ = _population(rng, 100)
        y = conc[:, 0]
        order = np.argsort(y)
        cal, top = order[:80], order[80:]
        b = _coef(X[cal], y[cal])
        shift = np.full(40, 0.3)  # an instrument offset
        flagged.append(batch_check(X[cal], X[top] + shift, b, mean_offset=1.0,
                                   calibration_error=0.01)["differs"])
        perm = rng.permutation(100)
        cal, rnd = perm[:80], perm[80:]
        b = _coef(X[cal], y[cal])
        random_flags.append(batch_check(X[cal], X[rnd] + shift, b, mean_offset=1.0,
                                        calibration_error=0.01)["differs"])
    assert all(flagged)
    assert np.mean(random_flags) <= 0.1


def test_it_only_speaks_when_the_ambiguity_matters():
    rng = np.random.default_rng(0)
    conc, X, _ = _population(rng, 100)
    y = conc[:, 0]
    order = np.argsort(y)
    b = _coef(X[order[:80]], y[order[:80]])
    small = batch_check(X[order[:80]], X[order[80:]], b, mean_offset=0.005, calibration_error=0.01)
    assert small["p"] < 0.05 and not small["matters"] and not small["differs"]
    assert batch_line(small, 0) == ""
    big = batch_check(X[order[:80]], X[order[80:]], b, mean_offset=0.5, calibration_error=0.01)
    assert big["differs"] and big["spread_ratio"] < 0.2
    line = batch_line(big, 0)
    assert line.startswith("batch: its chemistry differs from the calibration set's") and "transfer samples" in line
    assert batch_line(big, 3) == ""  # with pairs the offset's own record says what the batch did
    few = batch_check(X[:10], X[10:12], b, mean_offset=1.0, calibration_error=0.01)
    assert not few["differs"] and "too few" in few["reason"]


def test_no_sign_is_said_too():
    rng = np.random.default_rng(3)
    conc, X, _ = _population(rng, 100)
    y = conc[:, 0]
    b = _coef(X[:80], y[:80])
    check = batch_check(X[:80], X[80:] + 0.2, b, mean_offset=0.5, calibration_error=0.01)
    assert check["matters"] and not check["differs"]
    assert batch_line(check, 0).startswith("batch: no sign that its chemistry differs")
    assert check["p"] == pytest.approx(min(1.0, 2 * min(check["p_spread"], check["p_components"])))
