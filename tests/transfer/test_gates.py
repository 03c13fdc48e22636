"""The covariance gate on the unlabelled batch (spektron.transfer.gates)."""

import numpy as np

from spektron.transfer.gates import additive_nuisance_gate


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
