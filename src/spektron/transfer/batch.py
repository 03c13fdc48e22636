"""Is the unlabelled batch a sample of the calibration population? What the spectra alone can say.

Without transfer pairs, the batch's mean difference from the master set is all that
measures the instrument's offset — and it also holds the batch's chemistry: a batch of
another grade or season differs from the calibration set by both, and along the
calibration's own chemical directions the two cannot be told apart (an offset of the
instrument and a shift of the composition move the predictions alike). What the spectra
*can* show is whether the batch looks like a random draw from the calibration population:
an instrument adds per-sample variation to every spectrum and takes none away, while a
batch from one end of the population spreads *less* than the calibration set along the
direction it was selected on. So the check compares spreads, each against its sampling
distribution (two independent samples of one population: ``F(n_u − 1, n − 1)``):

* along the calibration ``b`` — what the predictions of the batch spread compared with the
  master's: a batch from one end of the property's range spreads less in the property;
* along each leading principal direction of both sets — a batch from one end of the
  composition, whatever the property.

The smallest p-value, corrected for the number of directions looked at (Bonferroni), is
read at the conventional 5 %. The check only speaks when it matters: when the batch's mean
difference along ``b`` — the offset ``meancorr`` would take, and what separates it from no
correction at all — exceeds the calibration's cross-validated error. Then the line says
that the batch's chemistry differs from the calibration set beyond what an instrument
explains, that the offset could be either, and that a few transfer pairs would tell.
Without that evidence Spektron cannot tell either, and says what it assumed.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import f as f_distribution

from spektron.transfer.nuisance import excess_span

__all__ = ["batch_check", "BATCH_LEVEL", "BATCH_COMPONENTS", "batch_line"]

#: The level at which a narrower spread counts as evidence (the conventional 5 %; it changes
#: no prediction, only what the report says).
BATCH_LEVEL = 0.05
#: Leading principal directions of the master set whose spread the batch is compared in.
BATCH_COMPONENTS = 5


def _lower_p(ratio: np.ndarray, n_u: int, n: int) -> np.ndarray:
    """P(a ratio this small) for two samples of one population (lower tail of F)."""
    return f_distribution.cdf(np.asarray(ratio, dtype=float), n_u - 1, n - 1)


def batch_check(master_X: np.ndarray, unlabelled_X: np.ndarray, coef: np.ndarray, *, mean_offset: float,
                calibration_error: float, components: int = BATCH_COMPONENTS, level: float = BATCH_LEVEL,
                basis: np.ndarray | None = None) -> dict:
    """Does the batch spread less than the calibration set, beyond sampling, along the
    calibration or a leading principal direction of the two sets?

    ``mean_offset``: the batch's mean difference along ``coef`` (``cu``); ``calibration_error``:
    the calibration's cross-validated RMSE. Returns the spread ratios and p-values, ``p``
    (the smallest, Bonferroni-corrected), ``matters`` (``|mean_offset| > calibration_error``)
    and ``differs``: ``p < level`` and it matters. ``basis``: :func:`~spektron.transfer.nuisance.excess_span`
    of the two sets when the caller has it (the same directions, without another SVD).
    """
    Xm, Xu = np.asarray(master_X, dtype=float), np.asarray(unlabelled_X, dtype=float)
    n, n_u = Xm.shape[0], Xu.shape[0]
    out = {"n_unlabelled": int(n_u), "mean_offset": float(mean_offset), "calibration_error": float(calibration_error),
           "matters": bool(np.isfinite(calibration_error) and abs(mean_offset) > calibration_error)}
    if n_u < 3 or n < 3:
        out.update(p=float("nan"), differs=False, reason="too few spectra to compare spreads")
        return out
    b = np.asarray(coef, dtype=float)
    spread_m = float(np.var(Xm @ b, ddof=1))
    ratio_b = float(np.var(Xu @ b, ddof=1) / spread_m) if spread_m > 0 else float("nan")
    Mc, Uc = Xm - Xm.mean(axis=0), Xu - Xu.mean(axis=0)
    # the directions of both sets together, each centred on its own mean: directions chosen on the
    # master set alone would be those where its sample happens to spread most, and any new sample
    # would spread less there
    span = excess_span(Xm, Xu) if basis is None else basis
    q = int(min(components, n - 2, n_u - 2, span.shape[1]))
    V = span[:, :q]
    ratios_pc = (np.var(Uc @ V, axis=0, ddof=1) / np.var(Mc @ V, axis=0, ddof=1) if q > 0 else np.zeros(0))
    p_b = float(_lower_p(ratio_b, n_u, n)) if np.isfinite(ratio_b) else 1.0
    p_pc = float(min(1.0, q * _lower_p(ratios_pc, n_u, n).min())) if q > 0 else 1.0
    p = float(min(1.0, 2 * min(p_b, p_pc)))
    out.update(spread_ratio=ratio_b, p_spread=p_b, pc_ratios=[float(v) for v in ratios_pc], p_components=p_pc,
               p=p, level=float(level), differs=bool(p < level and out["matters"]))
    return out


def batch_line(check: dict | None, k: int) -> str:
    """One line for ``spektron transfer``, ``predict`` and the report ("" without a check)."""
    if not check or k > 0:
        return ""
    if check.get("differs"):
        where = ("its predictions spread {:.2g}× the calibration set's".format(check["spread_ratio"])
                 if check["p_spread"] <= check["p_components"] else
                 "it spreads {:.2g}× the calibration set along a leading principal direction".format(
                     min(check["pc_ratios"])))
        return ("batch: its chemistry differs from the calibration set's beyond what an instrument explains ("
                f"{where}, p = {check['p']:.2g}); its mean difference along the calibration "
                f"({check['mean_offset']:+.3g}) may be the instrument's or the batch's own — Spektron cannot tell "
                "without pairs: measure a few transfer samples on both instruments")
    if check["matters"]:
        return ("batch: no sign that its chemistry differs from the calibration set's (p = {:.2g}); its mean "
                "difference along the calibration ({:+.3g}) is taken as the instrument's — if the batch is another "
                "grade or season, measure a few transfer samples on both instruments".format(
                    check["p"], check["mean_offset"]))
    return ""
