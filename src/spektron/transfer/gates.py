"""The covariance gate: may the unlabelled batch's covariance excess count as instrument nuisance?

The batch holds spectra of *other* samples than the master calibration set, so every
difference between the two sets mixes instrument and chemistry. :func:`additive_nuisance_gate`
asks, without labels, whether the target instrument *adds* per-sample variance to the
master's beyond chemistry sampling, and only adds: then the covariance excess estimates
the instrument's nuisance covariance. Variance *lost* means that the instrument transforms
the chemistry (a gain, a resolution) or that the batch is a narrower slice of the
population than the calibration set; either way its excess is no nuisance estimate.
"""

from __future__ import annotations

import numpy as np

from spektron.transfer.nuisance import excess_span

__all__ = ["additive_nuisance_gate"]

_NULL_ROOTS: dict[tuple[int, int, int, int], np.ndarray] = {}


def _roots(A: np.ndarray, B: np.ndarray, q: int, basis: np.ndarray | None = None) -> np.ndarray:
    """Eigenvalues of cov(B) relative to cov(A) in the q leading principal directions of both
    (``basis``: their :func:`~spektron.transfer.nuisance.excess_span`, when the caller has it)."""
    Ac, Bc = A - A.mean(axis=0), B - B.mean(axis=0)
    Q = (excess_span(A, B) if basis is None else basis)[:, :q]
    Sa, Sb = np.cov((Ac @ Q).T), np.cov((Bc @ Q).T)
    L = np.linalg.cholesky(Sa + 1e-10 * np.trace(Sa) / q * np.eye(q))
    Li = np.linalg.inv(L)
    return np.linalg.eigvalsh(Li @ Sb @ Li.T)


def additive_nuisance_gate(master_X: np.ndarray, target_X: np.ndarray, components: int = 10, level: float = 0.01,
                           reps: int | None = None, seed: int = 0, lost_level: float | None = None,
                           basis: np.ndarray | None = None) -> dict:
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
    reached — with fewer than ``1 / level`` draws no p-value falls below it). ``basis``: the
    two sets' :func:`~spektron.transfer.nuisance.excess_span`, when the caller has it.
    """
    lost_level = level if lost_level is None else lost_level
    if reps is None:
        reps = max(300, int(np.ceil(2.0 / min(level, lost_level))))
    nm, nt = master_X.shape[0], target_X.shape[0]
    q = int(min(components, nm - 2, nt - 2, master_X.shape[1]))
    if q < 1:
        return {"passed": False, "components": q, "reason": "too few spectra for the test"}
    roots = _roots(master_X, target_X, q, basis)
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
