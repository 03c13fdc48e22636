"""Calibration-domain checks: Hotelling T² and Q with their limits."""

import numpy as np
import pytest

from spektron.transfer.outliers import CalibrationDomain

C = 100
GRID = np.linspace(0, 1, C)
BANDS = np.stack([np.exp(-0.5 * ((GRID - c) / 0.05) ** 2) for c in (0.2, 0.4, 0.6, 0.8)])


def _draw(rng, n, lo=0.2, hi=1.0):
    return rng.uniform(lo, hi, (n, 4)) @ BANDS + 0.01 * rng.standard_normal((n, C))


def test_limits_hold_their_level_on_the_calibration_population():
    """2000 new spectra from the calibration population: about 1 % beyond the 99 % limits
    (measured 0.35 %) — the limits are for new observations, with F and Jackson–Mudholkar."""
    rng = np.random.default_rng(0)
    domain = CalibrationDomain().fit(_draw(rng, 60))
    assert domain.n_components_ == 4  # the four bands hold 99 % of the variance
    _, _, flag = domain.flags(_draw(rng, 2000))
    assert np.mean(flag == "outside") < 0.02
    assert np.mean(flag != "ok") < 0.12
    lo, hi = sorted(domain.t2_limits_)
    assert domain.t2_limits_[lo] < domain.t2_limits_[hi] and domain.q_limits_[lo] < domain.q_limits_[hi]


def test_extrapolation_raises_t2_and_a_new_band_raises_q():
    rng = np.random.default_rng(1)
    domain = CalibrationDomain().fit(_draw(rng, 60))
    far = _draw(rng, 10, 1.6, 2.0)
    t2, q, flag = domain.flags(far)
    assert np.all(t2 > domain.t2_limits_[0.99]) and np.all(flag == "outside")
    odd = _draw(rng, 10) + 0.2 * np.exp(-0.5 * ((GRID - 0.5) / 0.02) ** 2)
    t2, q, flag = domain.flags(odd)
    assert np.all(q > domain.q_limits_[0.99]) and np.all(flag == "outside")
    assert domain.summary(np.array(["ok", "warning", "outside"])) == (
        "1 of 3 spectra outside the calibration domain (T² or Q above the 99% limit); 1 more above the 95% limit")


def test_nuisance_directions_leave_q_but_not_t2():
    """A target instrument adding a random baseline slope: without its direction every
    spectrum is off the plane; with it, Q is back to normal while T² still sees chemistry."""
    rng = np.random.default_rng(2)
    slope = np.linspace(-1, 1, C)
    X = _draw(rng, 60)
    target = _draw(rng, 200) + rng.normal(0, 0.05, (200, 1)) * slope
    plain = CalibrationDomain().fit(X)
    aware = CalibrationDomain().fit(X, nuisance=slope[:, None])
    assert np.mean(plain.flags(target)[2] == "outside") > 0.5
    assert np.mean(aware.flags(target)[2] == "outside") < 0.05
    far = _draw(rng, 5, 1.6, 2.0) + 0.05 * slope
    assert np.all(aware.flags(far)[2] == "outside")


def test_errors():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="at least 4 calibration spectra, got n_samples=3"):
        CalibrationDomain().fit(_draw(rng, 3))
    with pytest.raises(ValueError, match="levels must be two increasing"):
        CalibrationDomain(levels=(0.99, 0.95)).fit(_draw(rng, 10))
    domain = CalibrationDomain().fit(_draw(rng, 10))
    with pytest.raises(ValueError, match="spectra have 50 channels but the calibration domain has 100"):
        domain.scores(np.zeros((2, 50)))
