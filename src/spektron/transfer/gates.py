"""Tests that decide, inside the protocol, what unlabelled target spectra and pairs may tell.

Unlabelled target spectra are spectra of *other* samples than the master calibration
set, so every difference between the two sets mixes instrument and chemistry
sampling. Both tests ask whether a difference is larger than chemistry sampling
explains, and are calibrated without labels:

* :func:`mean_shift_test` — does the target set's *mean* differ from the master's
  beyond sampling? If not, the unlabelled mean difference is no evidence of an
  instrument offset, and subtracting it (mean centring, ``meancorr``) only adds the
  sampling error of two means: ``ȳ_test − ȳ_cal``, which is large beside the error of
  a good calibration when the instruments barely differ.
* :func:`additive_nuisance_gate` — does the target instrument *add* per-sample
  variance to the master's, and only add? Then the covariance excess estimates the
  instrument's nuisance covariance.

One more asks the same of the transfer pairs, without their labels:

* :func:`pair_association_test` — do the pairs' differences follow their chemistry? If
  they do (a shift or broadening changes each spectrum in proportion to what it
  contains), their mean difference is no offset that holds for other samples.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["additive_nuisance_gate", "mean_shift_test", "pair_association_test"]

_NULL_ROOTS: dict[tuple[int, int, int, int], np.ndarray] = {}


def mean_shift_test(master_X: np.ndarray, target_X: np.ndarray, components: int = 10, level: float = 0.01,
                    reps: int = 999, seed: int = 0) -> dict:
    """Is the target set's mean shifted from the master set's beyond sampling?

    A two-sample Hotelling T² in the ``q`` leading principal directions of both sets
    centred *together* (so that a shift, if any, is itself a leading direction), its
    p-value by permuting the rows between the sets: exact when both are draws from one
    population measured on one instrument, whatever the spectra's distribution. The
    directions do not change under permutation, so each permutation costs one q × q
    quadratic form (T² is monotone in ``m_uᵀ T⁻¹ m_u``, ``m_u`` the target rows' mean
    score and ``T`` the total scatter). Passed (a shift) when p < ``level``.
    """
    A, B = np.asarray(master_X, dtype=float), np.asarray(target_X, dtype=float)
    nm, nt = A.shape[0], B.shape[0]
    n = nm + nt
    q = int(min(components, n - 3, A.shape[1]))
    if nm < 2 or nt < 2 or q < 1:
        return {"passed": True, "components": max(q, 0), "p_shift": float("nan"),
                "reason": "too few spectra for the test: a shift is assumed"}
    Z = np.vstack([A, B])
    Z = Z - Z.mean(axis=0)
    U, s, _ = np.linalg.svd(Z, full_matrices=False)
    keep = s[:q] > 1e-10 * max(s[0], 1e-300)
    scores = U[:, :q][:, keep] * s[:q][keep]  # (n, q'): scores in the leading directions
    if scores.shape[1] == 0:  # every spectrum identical: nothing is shifted
        return {"passed": False, "components": 0, "p_shift": 1.0, "t2": 0.0}
    total_inv = np.linalg.pinv(scores.T @ scores)
    rng = np.random.default_rng([int(seed), 0x6D656E])
    draws = np.vstack([np.arange(n)] + [rng.permutation(n) for _ in range(int(reps))])[:, nm:]
    means = scores[draws].mean(axis=1)  # (reps + 1, q'): the target rows' mean score
    stat = np.einsum("ij,jk,ik->i", means, total_inv, means)
    p = float(np.sum(stat[1:] >= stat[0] * (1 - 1e-12)) + 1) / (int(reps) + 1)
    # Hotelling's T² of the observed split (Sherman–Morrison on T minus the between-set scatter)
    c = n * nt / nm
    t2 = float((n - 2) * c * stat[0] / max(1.0 - c * stat[0], 1e-300))
    return {"passed": bool(p < level), "components": int(scores.shape[1]), "p_shift": p, "t2": t2}


def _roots(A: np.ndarray, B: np.ndarray, q: int) -> np.ndarray:
    """Eigenvalues of cov(B) relative to cov(A) in the q leading principal directions of both."""
    Ac, Bc = A - A.mean(axis=0), B - B.mean(axis=0)
    _, _, Vt = np.linalg.svd(np.vstack([Ac, Bc]), full_matrices=False)
    Q = Vt[:q].T
    Sa, Sb = np.cov((Ac @ Q).T), np.cov((Bc @ Q).T)
    L = np.linalg.cholesky(Sa + 1e-10 * np.trace(Sa) / q * np.eye(q))
    Li = np.linalg.inv(L)
    return np.linalg.eigvalsh(Li @ Sb @ Li.T)


def additive_nuisance_gate(master_X: np.ndarray, target_X: np.ndarray, components: int = 10, level: float = 0.01,
                           reps: int | None = None, seed: int = 0, lost_level: float | None = None) -> dict:
    """Does the target instrument *add* per-sample variance to the master's, and only add?

    In the ``q`` leading principal directions of both sets, the eigenvalues of the
    target covariance relative to the master's are compared with their distribution
    when both sets come from one population (simulated with Gaussian data of the same
    sizes; the roots do not depend on the common covariance). Passed when the largest
    root is significantly large (Roy's largest-root test: variance added beyond
    chemistry sampling) and the smallest is not significantly small (variance lost
    means the instrument transforms the chemistry — gain, resolution — and the
    covariance excess is then no estimate of an additive nuisance): p-values below
    ``level`` and not below ``lost_level`` (None: ``level``) respectively. ``reps``
    simulated null draws (None: at least 300 and ``2 / level``, so that the level can be
    reached — with fewer than ``1 / level`` draws no p-value falls below it).
    """
    lost_level = level if lost_level is None else lost_level
    if reps is None:
        reps = max(300, int(np.ceil(2.0 / min(level, lost_level))))
    nm, nt = master_X.shape[0], target_X.shape[0]
    q = int(min(components, nm - 2, nt - 2, master_X.shape[1]))
    if q < 1:
        return {"passed": False, "components": q, "reason": "too few spectra for the test"}
    roots = _roots(master_X, target_X, q)
    key = (q, nm, nt, int(reps))
    null = _NULL_ROOTS.get(key)
    if null is None:
        rng = np.random.default_rng([int(seed), q, nm, nt])
        null = np.array([(r[0], r[-1]) for r in (_roots(rng.standard_normal((nm, q)), rng.standard_normal((nt, q)), q)
                                                 for _ in range(int(reps)))])
        _NULL_ROOTS[key] = null
    p_high = float((1 + np.sum(null[:, 1] >= roots[-1])) / (1 + len(null)))
    p_low = float((1 + np.sum(null[:, 0] <= roots[0])) / (1 + len(null)))
    passed = p_high < level and p_low >= lost_level
    return {"passed": bool(passed), "components": q, "largest_root": float(roots[-1]), "p_added": p_high,
            "smallest_root": float(roots[0]), "p_lost": p_low}


def pair_association_test(master_pairs: np.ndarray, target_pairs: np.ndarray, level: float = 0.05,
                          reps: int = 999, seed: int = 0) -> dict:
    """Do the pairs' differences follow the pairs' own spectra?

    The RV coefficient between the pairs' centred master spectra and their centred
    differences (target − master), against its distribution when the differences are
    matched to the spectra at random: every permutation of the k pairs when there are
    at most 7 (exact), else ``reps`` random ones. An additive nuisance (a baseline, a
    per-sample offset, noise) is independent of the sample, so any matching is as good
    as the true one; an instrument that transforms the chemistry (``d = (T − I) x``)
    makes the true matching stand out. Passed (the differences follow the chemistry)
    when p < ``level``. With k = 3 the smallest p-value is 1/6, so the test needs at
    least four pairs to pass at 0.05.
    """
    A, B = np.asarray(master_pairs, dtype=float), np.asarray(target_pairs, dtype=float)
    k = A.shape[0]
    if k < 3:
        return {"passed": False, "k": k, "p": float("nan"), "reason": "fewer than 3 pairs"}
    Xc = A - A.mean(axis=0)
    D = B - A
    D = D - D.mean(axis=0)
    if k <= 7:
        orders = list(itertools.permutations(range(k)))
    else:
        rng = np.random.default_rng([int(seed), 0x727663])
        orders = [tuple(range(k))] + [tuple(rng.permutation(k)) for _ in range(int(reps))]
    GA, GB = Xc @ Xc.T, D @ D.T  # a permutation of the differences permutes GB's rows and columns
    norm = max(float(np.sqrt(np.sum(GA * GA) * np.sum(GB * GB))), 1e-300)
    stats = np.array([np.sum(GA * GB[np.ix_(order, order)]) for order in map(list, orders)]) / norm
    p = float(np.mean(stats >= stats[0] * (1 - 1e-12)))
    return {"passed": bool(p < level), "k": k, "rv": float(stats[0]), "p": p,
            "permutations": len(orders), "exact": k <= 7}
