"""The prediction offset ``bᵀμ̂``, from the transfer pairs and the unlabelled batch, with its uncertainty.

A calibration ``b`` moved to the target instrument reads every spectrum off by ``bᵀμ``,
the instrument's mean difference along it. Two sources estimate it, and they err in
different ways:

* the **pairs** (the same samples on both instruments): ``cp = bᵀd̄``. No chemistry in
  it; it errs by the pairs' own per-sample nuisance along ``b`` against the batch's,
  ``nuis (1/k + 1/n_u) + mse/n_u``.
* the **unlabelled batch** (other samples, on the target only): ``cu = bᵀ(x̄_u − x̄)``.
  It errs by the batch's chemistry: ``ȳ_u − ȳ`` as the calibration reads it. When the
  batch samples the calibration population, that is sampling, ``var(y)(1/n_u + 1/n)``;
  when it is this week's production — another grade, another season — it is the
  difference between the two populations, which no amount of spectra shrinks.

Which of the two the batch is cannot be told from the batch alone (see
:mod:`~spektron.transfer.batch`), but with pairs their disagreement tells it:
``E[(cu − cp)²] = v_u + v_p``. The batch's error variance is therefore read off the data,
never assumed: ``v_u = max(var(y)(1/n_u + 1/n), (cu − cp)² − v_p)`` — the sampling error
when the two agree within it, the disagreement beyond the pairs' own error when they do
not. The offset is the inverse-variance mean of the two: the batch refines the pairs
when it samples the calibration population, and cannot override them when it does not.

Without pairs the batch is all there is. Its mean difference is kept only as far as it
stands out from the sampling of two means: the difference in the leading principal
directions of both sets is shrunk by the positive-part James–Stein factor
``max(0, 1 − (q − 2)/T²)`` (Hotelling's ``T²`` of the two means), which leaves a real
instrument's offset alone (``T²`` in the hundreds) and takes a second unit of the same
instrument, whose two means differ by sampling only, towards no offset at all. The same
factor scales the offset combined with pairs: when the batch shows no instrument, a few
pairs' own noise is no offset to apply either.
"""

from __future__ import annotations

import numpy as np

from spektron.transfer.nuisance import excess_span

__all__ = ["shift_shrinkage", "combine_offsets", "SHIFT_COMPONENTS"]

#: Leading principal directions of both sets in which the two means are compared (ten hold
#: nearly all of the variance of NIR spectra of a few dozen samples; fewer than three leave
#: James–Stein nothing to shrink).
SHIFT_COMPONENTS = 10


def shift_shrinkage(master_centred: np.ndarray, unlabelled_centred: np.ndarray, mean_difference: np.ndarray,
                    components: int = SHIFT_COMPONENTS, basis: np.ndarray | None = None) -> tuple[float, float, int]:
    """(factor, T², q): the positive-part James–Stein factor of the unlabelled batch's mean
    difference from the master's, in the ``q`` leading principal directions of both sets
    (each centred on its own mean, so the directions are the sets' own variation, and the
    within-set covariance pooled). ``factor = max(0, 1 − (q − 2)/T²)``; with ``q < 3`` (too few
    spectra) nothing is shrunk. ``basis``: :func:`~spektron.transfer.nuisance.excess_span` of
    the two sets when the caller has it (the same directions, without another SVD)."""
    A, B = np.asarray(master_centred, dtype=float), np.asarray(unlabelled_centred, dtype=float)
    nm, nu = A.shape[0], B.shape[0]
    q = int(min(components, nm + nu - 3, A.shape[1]))
    if q < 3:
        return 1.0, float("nan"), max(q, 0)
    V = (excess_span(A, B) if basis is None else basis)[:, :q]
    q = V.shape[1]
    if q < 3:
        return 1.0, float("nan"), q
    Sa, Sb = A @ V, B @ V
    pooled = (Sa.T @ Sa + Sb.T @ Sb) / (nm + nu - 2)
    d = np.asarray(mean_difference, dtype=float) @ V
    t2 = float(d @ np.linalg.solve(pooled, d)) * nm * nu / (nm + nu)
    return max(0.0, 1.0 - (q - 2) / max(t2, 1e-300)), t2, q


def combine_offsets(cu: float | None, v_sampling: float | None, cp: float | None, v_pairs: float | None,
                    shrinkage: float = 1.0) -> tuple[float, dict]:
    """The offset from the batch's estimate ``cu`` (its sampling variance ``v_sampling``) and
    the pairs' ``cp`` (error variance ``v_pairs``); either may be None (absent).

    Both present: the batch's error variance is ``max(v_sampling, (cu − cp)² − v_pairs)``
    (module docstring) and the offset their inverse-variance mean, times ``shrinkage``. Batch
    only: ``cu`` times ``shrinkage``. Pairs only: ``cp``. Neither: 0. ``shrinkage`` is the
    batch's James–Stein factor (:func:`shift_shrinkage`): when the batch's mean does not stand
    out from the master's beyond sampling in any direction, there is no instrument offset to
    apply, and a few pairs' noise is not one either.
    Returns the offset and a record of its pieces, including ``sd``: the offset's standard
    error as the model states it, and ``pairs_share``: how much of it the pairs decide.
    """
    detail: dict = {}
    if cu is not None:
        detail.update(unlabelled=float(cu), unlabelled_sampling_var=float(v_sampling))
    if cp is not None:
        detail.update(pairs=float(cp), pairs_var=float(v_pairs))
    if cu is None and cp is None:
        detail.update(source="none", offset=0.0, sd=0.0)
        return 0.0, detail
    if cp is None:
        offset = float(cu) * float(shrinkage)
        detail.update(source="unlabelled", shrinkage=float(shrinkage), offset=offset, sd=float(np.sqrt(v_sampling)),
                      pairs_share=0.0)
        return offset, detail
    if cu is None:
        detail.update(source="pairs", offset=float(cp), sd=float(np.sqrt(v_pairs)), pairs_share=1.0)
        return float(cp), detail
    v_batch = max(float(v_sampling), (float(cu) - float(cp)) ** 2 - float(v_pairs))
    floor = 1e-12 * max(v_batch, float(v_pairs)) + 1e-300
    wu, wp = 1.0 / max(v_batch, floor), 1.0 / max(float(v_pairs), floor)
    offset = (wu * cu + wp * cp) / (wu + wp) * float(shrinkage)
    detail.update(source="both", unlabelled_var=v_batch, shrinkage=float(shrinkage), offset=float(offset),
                  sd=float(np.sqrt(1.0 / (wu + wp))),
                  pairs_share=float(wp / (wu + wp)),
                  batch_shift_sd=float(np.sqrt(max(v_batch - float(v_sampling), 0.0))))
    return float(offset), detail
