"""The instrument nuisance model and the nuisance-invariant PLS (spektron.transfer.nuisance / .invariant)."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.cross_decomposition import PLSRegression

from spektron.baselines.calibration import nested_pls_coefficients
from spektron.transfer.invariant import cv_components, penalised_pls
from spektron.transfer.nuisance import InstrumentNuisance, covariance_excess_factor, excess_span, simulated_nuisance_prior

C = 120
GRID = np.linspace(0.0, 1.0, C)


def _bands(centres, width=0.04):
    return np.stack([np.exp(-0.5 * ((GRID - c) / width) ** 2) for c in centres])


def _nuisance_world(n_master=60, k=20, n_unlabelled=0, seed=0, scales=(1.0, 0.8, 0.6), noise=0.01):
    """Master spectra from 4 chemistry bands; the target adds a mean offset and a known
    3-dimensional nuisance subspace (smooth, orthogonal to nothing in particular) with
    per-sample coefficients of standard deviation ``scales``, plus white noise."""
    rng = np.random.default_rng(seed)
    chem = _bands([0.15, 0.35, 0.6, 0.85])
    N = np.stack([np.cos(np.pi * j * GRID) for j in (1, 2, 3)]).T  # (C, 3)
    N, _ = np.linalg.qr(N)
    mu = 0.3 + 0.1 * GRID

    def master(n):
        conc = rng.uniform(0.2, 1.0, (n, 4))
        return conc @ chem + noise * rng.standard_normal((n, C)), conc[:, 0]

    def target_of(X):
        coef = rng.standard_normal((X.shape[0], 3)) * np.asarray(scales)
        return X + mu + coef @ N.T + noise * rng.standard_normal(X.shape)

    Xm, y = master(n_master)
    pairs_m = Xm[:k]
    pairs_t = target_of(pairs_m)
    Xu = target_of(master(n_unlabelled)[0]) if n_unlabelled else None
    return Xm, y, (pairs_m, pairs_t), Xu, N, mu


def test_penalised_pls_without_penalty_is_scikit_learn_pls():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 30)) @ rng.standard_normal((30, 30))
    y = X[:, 3] + 0.1 * rng.standard_normal(40)
    B = penalised_pls(X - X.mean(0), y - y.mean(), None, 8)
    ref = nested_pls_coefficients(PLSRegression(8, scale=False).fit(X, y))
    np.testing.assert_allclose(B, ref, atol=1e-10)


def test_penalised_pls_is_pls_on_zero_response_augmented_rows():
    """XᵀX + LLᵀ is the cross-product of [X; Lᵀ]; responses 0 for the nuisance rows."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 25))
    y = X @ rng.standard_normal(25)
    Xc, yc = X - X.mean(0), y - y.mean()
    L = rng.standard_normal((25, 4))
    B = penalised_pls(Xc, yc, L, 6)
    Z, yz = np.vstack([Xc, L.T]), np.concatenate([yc, np.zeros(4)])
    # one component: the weight is Zᵀ[yc; 0] = Xcᵀyc, the score variance uses ZᵀZ
    w = Xc.T @ yc
    np.testing.assert_allclose(B[:, 0], w * (w @ (Z.T @ yz)) / (w @ (Z.T @ Z) @ w), rtol=1e-10)
    # the full-rank limit is the generalised least-squares solution (XᵀX + LLᵀ)⁻¹Xᵀy
    B_full = penalised_pls(Xc, yc, L, 25)
    np.testing.assert_allclose(B_full[:, -1], np.linalg.solve(Z.T @ Z, Xc.T @ yc), rtol=1e-6, atol=1e-8)


def test_a_strong_penalty_makes_the_model_blind_to_the_nuisance_directions():
    Xm, y, (pm, pt), _, N, _ = _nuisance_world()
    L_strong = N * 1e3
    fit = cv_components(Xm, y, L_strong)
    assert np.abs(N.T @ fit.coef).max() < 1e-4 * np.abs(fit.coef).max()
    plain = cv_components(Xm, y, None)
    assert np.abs(N.T @ plain.coef).max() > 1e-2 * np.abs(plain.coef).max()


def test_pairs_recover_an_injected_nuisance_subspace():
    """k = 20 pairs, nuisance sd 1.0/0.8/0.6 along 3 directions, white noise 0.01 per channel.

    The bound: the pair scatter is Σ plus noise covariance 2·0.01²·I estimated from 19
    degrees of freedom; its operator-norm error is about 2·10⁻⁴·(1 + √(C/19))² ≈ 2·10⁻³
    (noise) plus the cross term 0.6·0.014·(1+√(C/19)) ≈ 3·10⁻², against an eigengap
    of ≈ 0.36 (0.6², the smallest nuisance variance, which 19 draws estimate within a
    factor ~2): Davis–Kahan gives sin θ ≲ 0.03 / 0.18 ≈ 0.17, i.e. < 10°.
    """
    Xm, y, pairs, _, N, mu = _nuisance_world(k=20)
    nuis = InstrumentNuisance.estimate(Xm, pairs=pairs)
    angles = np.degrees(subspace_angles(nuis.subspace(3), N))
    assert angles.max() < 10.0
    np.testing.assert_allclose(nuis.mean_pairs, mu, atol=0.5)  # μ̂ within the nuisance's own spread / √k
    assert np.linalg.norm(nuis.mean_pairs - mu) < 0.5 * np.linalg.norm(mu)


def test_unlabelled_spectra_recover_it_too_when_there_are_many():
    """No pairs, 300 unlabelled target spectra of *other* samples: the covariance excess
    holds the nuisance plus chemistry sampling noise (4 bands, 60 vs 300 samples); the
    bound is looser than with pairs (< 20°)."""
    Xm, y, _, Xu, N, _ = _nuisance_world(k=0, n_unlabelled=300)
    nuis = InstrumentNuisance.estimate(Xm, target_unlabelled=Xu)
    assert np.degrees(subspace_angles(nuis.subspace(3), N)).max() < 20.0


def test_covariance_excess_factor_is_the_positive_part_of_the_difference():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((30, 12))
    B = rng.standard_normal((20, 12)) * np.linspace(0.5, 2.0, 12)
    F = covariance_excess_factor(A, B)
    D = np.cov(B.T) - np.cov(A.T)
    w, V = np.linalg.eigh(D)
    ref = (V * np.maximum(w, 0)) @ V.T
    np.testing.assert_allclose(F @ F.T, ref, atol=1e-10)


def test_a_shared_span_gives_every_subsets_excess_exactly():
    """Leave-one-pair-out and the unlabelled cross-fit reuse the whole sets' basis: for any
    subsets of them the excess is the fresh SVD's, more channels than spectra as in NIR."""
    rng = np.random.default_rng(4)
    A = rng.standard_normal((30, 8)) @ rng.standard_normal((8, 50)) + 0.1 * rng.standard_normal((30, 50))
    B = A[:12] * 1.3 + rng.standard_normal((12, 50)) * np.linspace(0.0, 1.0, 50)
    span = excess_span(A, B)
    assert span.shape == (50, 40) and np.allclose(span.T @ span, np.eye(40))  # 30 + 12 spectra, two means
    for a, b in ((A, B), (A[1:], B), (np.delete(A, 7, axis=0), B[3:]), (A[::2], B[::3])):
        fresh, shared = covariance_excess_factor(a, b), covariance_excess_factor(a, b, span=span)
        np.testing.assert_allclose(shared @ shared.T, fresh @ fresh.T, atol=1e-10)
        assert shared.shape[1] == fresh.shape[1]


def test_without_the_excess_weight_zero_is_the_same_model():
    """``unlabelled_excess=False`` skips the eigen-decomposition that weight 0 never uses:
    Σ and the means the offset is read from are unchanged."""
    Xm, y, pairs, Xu, _, _ = _nuisance_world(k=5, n_unlabelled=40)
    full = InstrumentNuisance.estimate(Xm, pairs=pairs, target_unlabelled=Xu)
    lean = InstrumentNuisance.estimate(Xm, pairs=pairs, target_unlabelled=Xu, unlabelled_excess=False)
    assert full.F_unlabelled.shape[1] > 0 and lean.F_unlabelled.shape[1] == 0
    b = np.random.default_rng(5).standard_normal(Xm.shape[1])
    np.testing.assert_allclose(lean.covariance_factor(0.0), full.covariance_factor(0.0))
    assert b @ lean.mean_unlabelled == b @ full.mean_unlabelled and b @ lean.mean_pairs == b @ full.mean_pairs


def test_weights_of_the_unlabelled_excess():
    Xm, y, pairs, Xu, N, mu = _nuisance_world(k=5, n_unlabelled=40)
    nuis = InstrumentNuisance.estimate(Xm, pairs=pairs, target_unlabelled=Xu)
    assert nuis.covariance_factor(0.0).shape[1] == nuis.F_pairs.shape[1]  # the unlabelled part switched off
    full = nuis.covariance_factor(1.0)
    half = nuis.covariance_factor(0.5)
    assert np.trace(half.T @ half) < np.trace(full.T @ full)
    np.testing.assert_allclose(nuis.mean_pairs, (pairs[1] - pairs[0]).mean(axis=0))
    np.testing.assert_allclose(nuis.mean_unlabelled, Xu.mean(axis=0) - Xm.mean(axis=0))


def test_simulated_prior_is_unit_trace_and_physical():
    rng = np.random.default_rng(0)
    axis = np.linspace(1100.0, 2400.0, 200)
    X = 0.5 + np.exp(-0.5 * ((axis - 1700) / 40) ** 2) * rng.uniform(0.5, 1.0, (20, 1))
    F = simulated_nuisance_prior(X, axis, "nm", n_instruments=8)
    assert F.shape[0] == 200 and 1 <= F.shape[1] < 20
    assert np.sum(F**2) == pytest.approx(1.0)


def test_the_pairs_scatter_is_centred_on_their_mean():
    rng = np.random.default_rng(0)
    Xm = rng.standard_normal((20, 12))
    pm, pt = Xm[:5], Xm[:5] + 0.3 + 0.1 * rng.standard_normal((5, 12))
    D = pt - pm
    nuis = InstrumentNuisance.estimate(Xm, pairs=(pm, pt))
    Dc = D - D.mean(axis=0)
    np.testing.assert_allclose(nuis.F_pairs @ nuis.F_pairs.T, Dc.T @ Dc / 4, atol=1e-12)
    np.testing.assert_allclose(nuis.mean_pairs, D.mean(axis=0))


def test_the_excess_is_kept_where_it_scales_the_prior():
    """With fewer than two pairs the prior is scaled to the unlabelled excess, so
    ``unlabelled_excess=False`` must not drop it."""
    Xm, y, pairs, Xu, _, _ = _nuisance_world(k=1, n_unlabelled=40)
    prior = np.linalg.qr(np.random.default_rng(6).standard_normal((Xm.shape[1], 3)))[0]
    full = InstrumentNuisance.estimate(Xm, pairs=pairs, target_unlabelled=Xu, prior=prior)
    lean = InstrumentNuisance.estimate(Xm, pairs=pairs, target_unlabelled=Xu, prior=prior, unlabelled_excess=False)
    assert full.F_prior.size and np.allclose(lean.F_prior, full.F_prior)
    np.testing.assert_allclose(lean.covariance_factor(0.0), full.covariance_factor(0.0))
