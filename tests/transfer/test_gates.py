"""The tests on unlabelled target spectra (mean shift, added covariance) and on the pairs (association)."""

import numpy as np
import pytest

from spektron.transfer.gates import additive_nuisance_gate, mean_shift_test, pair_association_test

from instrument_pair import synthetic_pair


def _hotelling(A, B, q):
    """Two-sample Hotelling T² in the q leading directions of both sets centred together."""
    Z = np.vstack([A, B])
    Z = Z - Z.mean(axis=0)
    U, s, _ = np.linalg.svd(Z, full_matrices=False)
    S = U[:, :q] * s[:q]
    a, b = S[: len(A)], S[len(A):]
    d = b.mean(axis=0) - a.mean(axis=0)
    W = ((a - a.mean(0)).T @ (a - a.mean(0)) + (b - b.mean(0)).T @ (b - b.mean(0))) / (len(Z) - 2)
    return len(A) * len(B) / len(Z) * d @ np.linalg.solve(W, d)


def test_its_statistic_is_hotellings_t2():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((64, 30)), rng.standard_normal((16, 30)) + 0.1
    result = mean_shift_test(A, B, components=5)
    assert result["components"] == 5
    assert result["t2"] == pytest.approx(_hotelling(A, B, 5), rel=1e-9)


def test_its_p_value_is_uniform_without_a_shift_and_small_with_one():
    """A permutation test: under one population its p-values are uniform whatever the
    distribution (here skewed, correlated channels), so it rejects at about its level."""
    rng = np.random.default_rng(1)
    mix = rng.standard_normal((40, 40))
    draw = lambda n, shift=0.0: (rng.exponential(1.0, (n, 40)) + shift) @ mix  # noqa: E731
    null = np.array([mean_shift_test(draw(48), draw(16), reps=199, seed=i)["p_shift"] for i in range(300)])
    assert 0.02 < np.mean(null < 0.1) < 0.18  # 0.1 ± 2.9 binomial standard errors
    assert 0.3 < np.median(null) < 0.7
    shifted = [mean_shift_test(draw(48), draw(16, shift=1.0), reps=199, seed=i) for i in range(20)]
    assert all(r["passed"] and r["p_shift"] == pytest.approx(1 / 200) for r in shifted)


def test_it_is_deterministic_in_its_seed_and_says_when_it_cannot_run():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((30, 12)), rng.standard_normal((10, 12))
    assert mean_shift_test(A, B, seed=3) == mean_shift_test(A, B, seed=3)
    few = mean_shift_test(A, B[:1])
    assert few["passed"] and "too few" in few["reason"]
    flat = mean_shift_test(np.ones((10, 5)), np.ones((4, 5)))
    assert not flat["passed"] and flat["p_shift"] == 1.0


def test_the_covariance_gate_passes_added_variance_only():
    """Spectra of five latent factors: a per-sample sloped baseline on the target adds
    variance (passed); the same target scaled by 0.3 also loses chemistry (not passed)."""
    rng = np.random.default_rng(4)
    loadings = rng.standard_normal((5, 20))
    draw = lambda n: rng.standard_normal((n, 5)) @ loadings + 0.05 * rng.standard_normal((n, 20))  # noqa: E731
    A, B = draw(60), draw(40)
    assert not additive_nuisance_gate(A, B, components=5)["passed"]
    added = B + 2.0 * rng.standard_normal((40, 1)) * np.linspace(-1, 1, 20)
    gate = additive_nuisance_gate(A, added, components=5)
    assert gate["passed"] and gate["p_added"] < 0.01 and gate["p_lost"] > 0.01
    lost = additive_nuisance_gate(A, 0.3 * added, components=5)
    assert not lost["passed"] and lost["p_lost"] < 0.01


def test_the_gate_draws_enough_null_roots_for_its_level():
    """At level 0.001 the default draws 2000 null samples, so a p-value below the level is
    reachable (300 draws floor it at 1/301); a separate ``lost_level`` decides the loss."""
    rng = np.random.default_rng(5)
    loadings = rng.standard_normal((5, 20))
    draw = lambda n: rng.standard_normal((n, 5)) @ loadings + 0.05 * rng.standard_normal((n, 20))  # noqa: E731
    A, B = draw(60), draw(40)
    added = B + 2.0 * rng.standard_normal((40, 1)) * np.linspace(-1, 1, 20)
    strict = additive_nuisance_gate(A, added, components=5, level=0.001, lost_level=0.01)
    assert strict["passed"] and strict["p_added"] == 1 / 2001
    few = additive_nuisance_gate(A, added, components=5, level=0.001, reps=300)
    assert not few["passed"] and few["p_added"] == 1 / 301
    lost = additive_nuisance_gate(A, 0.3 * added, components=5, level=0.001, lost_level=0.01)
    assert not lost["passed"] and lost["p_lost"] < 0.01


def test_the_pair_association_test_tells_a_transforming_instrument_from_an_additive_one():
    """A target that shifts, broadens and rescales (``synthetic_pair``) changes each spectrum
    by what it contains: every group of six pairs passes, at the smallest p-value the 720
    permutations allow or the next. A target that adds an offset and random baselines does
    not: the permutation p-value is then exactly uniform, measured here over 30 groups."""
    X, T, _ = synthetic_pair(n=180, seed=0)
    groups = [slice(i, i + 6) for i in range(0, 180, 6)]
    for g in groups[:9]:
        result = pair_association_test(X[g], T[g])
        assert result["passed"] and result["exact"] and result["permutations"] == 720
        assert result["p"] <= 2 / 720 + 1e-12
    rng = np.random.default_rng(1)
    t = np.linspace(-1, 1, X.shape[1])
    A = X + 0.1 + rng.normal(0, 0.05, (180, 1)) * t + rng.normal(0, 0.05, (180, 1)) * t**2
    ps = np.array([pair_association_test(X[g], A[g])["p"] for g in groups])
    assert np.mean(ps < 0.05) <= 0.2 and 0.3 < ps.mean() < 0.7


def test_the_pair_association_test_says_what_few_pairs_allow():
    X, T, _ = synthetic_pair(n=12, seed=0)
    assert pair_association_test(X[:2], T[:2]) == {"passed": False, "k": 2, "p": pytest.approx(np.nan, nan_ok=True),
                                                    "reason": "fewer than 3 pairs"}
    three = pair_association_test(X[:3], T[:3])
    assert three["permutations"] == 6 and three["p"] >= 1 / 6 and not three["passed"]  # 3! orders: p ≥ 1/6
    ten = pair_association_test(X[:10], T[:10], seed=3)
    assert not ten["exact"] and ten["permutations"] == 1000 and ten["passed"]
    assert pair_association_test(X[:10], T[:10], seed=3) == ten  # random orders, fixed by the seed
