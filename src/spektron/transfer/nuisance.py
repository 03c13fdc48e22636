"""The target instrument as an explicit nuisance model — ``z_inst`` made concrete.

A target spectrum of a sample whose master spectrum is ``x`` is modelled as
``x + μ + e``: a mean instrument difference ``μ`` shared by every spectrum and a
per-sample nuisance ``e ~ (0, Σ)``. Three sources inform the model, each with its own
reliability:

* **transfer pairs** (k samples measured on both instruments): the mean of the pair
  differences estimates ``μ`` without any chemistry in it (error ``Σ / k``); their
  scatter estimates ``Σ`` with ``k − 1`` degrees of freedom. The only clean source.
* **unlabelled target spectra** (``n_u`` spectra of *other* samples): the difference
  of the means estimates ``μ`` but carries the chemistry of the two sample sets
  (error ``S_master (1/n_u + 1/n) + Σ / n_u``); the positive part of the covariance
  difference estimates ``Σ`` but also carries chemistry sampling noise and any
  instrument *gain* on chemistry — so it is weighted, never trusted blindly.
* **a prior from simulated instruments**: the per-sample differences that the
  pretraining generator's instruments (shift, broadening, baseline, gain; SPEC §4)
  produce on the master spectra — the directions an instrument is physically likely
  to move — scaled to the data's nuisance level, and given a small pseudo-count so
  that it matters only when the data are few.

``Σ`` is combined as a weighted mean of the three covariance estimates, each counted
by its degrees of freedom (the unlabelled one further scaled by a weight that the
transfer method chooses inside the protocol), and kept in factor form ``Σ = F Fᵀ``
(C × r with r ≲ n_u + k + prior rank) so that nothing C × C is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spektron.data.instruments import draw_instruments
from spektron.data.spectra import check_spectra

__all__ = ["InstrumentNuisance", "simulated_nuisance_prior", "covariance_excess_factor", "excess_span",
           "CONSISTENCY_Z2"]

#: 99 % point of χ² with one degree of freedom: the largest squared disagreement, in units
#: of its stated standard error, between the pair and the unlabelled offsets that is believed.
CONSISTENCY_Z2 = 6.635


def excess_span(master_X: np.ndarray, target_X: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (C × q) of the span of both sets' centred spectra.

    It holds the centred spectra of any subsets of the two sets too (each is a
    combination of row differences), so :func:`covariance_excess_factor` of a subset —
    leave-one-pair-out drops one master sample, the unlabelled cross-fit a fold of
    target spectra — can reuse it instead of another SVD. With a few hundred samples
    that SVD is most of a refit's time (``spektron bench transfer``).
    """
    Mc = master_X - master_X.mean(axis=0)
    Tc = target_X - target_X.mean(axis=0)
    _, s, Vt = np.linalg.svd(np.vstack([Mc, Tc]), full_matrices=False)
    keep = s > tol * max(s[0], 1e-300) if s.size else np.zeros(0, dtype=bool)
    return Vt[keep].T


def covariance_excess_factor(master_X: np.ndarray, target_X: np.ndarray, tol: float = 1e-10,
                             span: np.ndarray | None = None) -> np.ndarray:
    """Factor F (C × r) of the positive part of ``cov(target) − cov(master)``.

    Both covariances live in the span of the centred spectra (≤ n + n_u − 2 dims), so
    the difference is diagonalised there; the result equals the eigen-decomposition of
    the full C × C difference restricted to its positive eigenvalues. ``span``: a basis
    from :func:`excess_span` of sets that contain these (the caller's promise); any
    directions it has beyond theirs carry a zero eigenvalue and drop out.
    """
    Mc = master_X - master_X.mean(axis=0)
    Tc = target_X - target_X.mean(axis=0)
    nm, nt = Mc.shape[0], Tc.shape[0]
    if nm < 2 or nt < 2:
        return np.zeros((master_X.shape[1], 0))
    Q = excess_span(master_X, target_X, tol) if span is None else span  # (C, q)
    Am, At = Mc @ Q, Tc @ Q
    D = At.T @ At / (nt - 1) - Am.T @ Am / (nm - 1)
    w, W = np.linalg.eigh((D + D.T) / 2)
    pos = w > tol * max(abs(w).max(), 1e-300)
    return Q @ (W[:, pos] * np.sqrt(w[pos]))


def simulated_nuisance_prior(master_X: np.ndarray, axis: np.ndarray, unit: str, *, n_instruments: int = 16,
                             energy: float = 0.999, seed: int = 0) -> np.ndarray:
    """Unit-trace factor (C × r) of the per-sample nuisance that simulated instruments cause.

    Each of ``n_instruments`` instruments drawn from the pretraining generator's
    ranges (:func:`~spektron.data.instruments.draw_instruments`) measures every master
    spectrum; the differences, centred across samples per instrument (the shared part
    is ``μ``'s business), are pooled, and the leading directions holding ``energy`` of
    their variance are kept.
    """

    X = np.asarray(master_X, dtype=float)
    blocks = []
    for inst in draw_instruments(int(n_instruments), seed=seed):
        D = inst.apply(X, axis, unit, noise=False) - X
        blocks.append(D - D.mean(axis=0))
    E = np.vstack(blocks)
    _, s, Vt = np.linalg.svd(E, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((X.shape[1], 0))
    share = np.cumsum(s**2) / np.sum(s**2)
    r = int(np.searchsorted(share, energy) + 1)
    F = Vt[:r].T * s[:r]
    return F / np.sqrt(np.sum(F**2))


@dataclass
class InstrumentNuisance:
    """The estimated nuisance model of one master → target instrument pair.

    Attributes
    ----------
    mean_unlabelled : (C,) or None — mean(unlabelled target) − mean(master).
    n_unlabelled : int
    mean_pairs : (C,) or None — mean of the pair differences (target − master).
    k : int — number of transfer pairs.
    F_unlabelled : (C, r_u) — factor of the unlabelled covariance excess.
    F_pairs : (C, k) — factor of the pair-difference covariance (empty for k < 2).
    F_prior : (C, r_0) — factor of the simulated-instrument prior, already scaled.
    prior_weight : float — the prior's pseudo-count of degrees of freedom.
    master_centred : (n, C) — the centred master spectra (for the offset's error).
    unlabelled_centred : (n_u, C) or None — the centred unlabelled target spectra.
    pair_differences : (k, C) or None — target − master of each pair.
    min_pairs_offset : int — fewest pairs whose mean difference enters :meth:`offset` when
        unlabelled spectra are there too (:meth:`derived_offset` leaves that to its caller).
    unlabelled_shift : bool — whether the unlabelled mean difference is evidence of an
        instrument offset (:func:`~spektron.transfer.gates.mean_shift_test`); when it is
        not, the unlabelled estimate of the offset is zero.
    """

    mean_unlabelled: np.ndarray | None
    n_unlabelled: int
    mean_pairs: np.ndarray | None
    k: int
    F_unlabelled: np.ndarray
    F_pairs: np.ndarray
    F_prior: np.ndarray
    prior_weight: float
    master_centred: np.ndarray
    unlabelled_centred: np.ndarray | None = None
    pair_differences: np.ndarray | None = None
    min_pairs_offset: int = 3
    unlabelled_shift: bool = True

    # ------------------------------------------------------------- building
    @classmethod
    def estimate(
        cls,
        master_X: np.ndarray,
        pairs: tuple[np.ndarray, np.ndarray] | None = None,
        target_unlabelled: np.ndarray | None = None,
        prior: np.ndarray | None = None,
        prior_weight: float = 1.0,
        unlabelled_shift: bool = True,
        pair_mean: str = "offset",
        span: np.ndarray | None = None,
        unlabelled_excess: bool = True,
    ) -> "InstrumentNuisance":
        """Estimate μ and Σ's pieces from the master set, the pairs and the unlabelled spectra.

        ``prior`` is a unit-trace factor (:func:`simulated_nuisance_prior`); it is
        scaled here to the nuisance level the data show along its directions (pairs
        if k ≥ 2, else the unlabelled excess); with no data source it is unused.
        ``unlabelled_shift``: whether the unlabelled mean difference is an instrument
        offset at all (the class docstring; the transfer method tests it).
        ``pair_mean``: ``"offset"`` — Σ from the pairs' differences centred on their mean,
        which the offset then carries; ``"nuisance"`` — from the uncentred differences, so
        that a calibration is made blind to the mean difference's direction as well (when
        the differences follow the chemistry, :func:`~spektron.transfer.gates.pair_association_test`,
        their mean holds for the pairs' samples only).
        ``span``: :func:`excess_span` of sets holding the master and unlabelled spectra
        (refits on subsets of them skip its SVD). ``unlabelled_excess`` False leaves
        ``F_unlabelled`` empty, for a caller that gives the unlabelled covariance weight 0
        (Σ and the offset are then the same, without its eigen-decomposition); it is
        computed all the same when it scales the prior (fewer than two pairs).
        """
        if pair_mean not in ("offset", "nuisance"):
            raise ValueError(f"pair_mean must be 'offset' or 'nuisance', got {pair_mean!r}")
        Xm = check_spectra(master_X, "master spectra")
        C = Xm.shape[1]
        uses_prior = prior is not None and prior.size and prior_weight > 0
        # the prior is scaled to the pairs' scatter from two pairs on, else to the unlabelled excess
        prior_on_excess = uses_prior and (pairs is None or len(pairs[0]) < 2)
        mean_u, n_u, F_u, Uc = None, 0, np.zeros((C, 0)), None
        if target_unlabelled is not None and len(target_unlabelled):
            Xu = check_spectra(target_unlabelled, "unlabelled target spectra")
            mean_u, n_u = Xu.mean(axis=0) - Xm.mean(axis=0), Xu.shape[0]
            if unlabelled_excess or prior_on_excess:
                F_u = covariance_excess_factor(Xm, Xu, span=span)
            Uc = Xu - Xu.mean(axis=0)
        mean_p, k, F_p, d = None, 0, np.zeros((C, 0)), None
        if pairs is not None and len(pairs[0]):
            d = np.asarray(pairs[1], dtype=float) - np.asarray(pairs[0], dtype=float)
            mean_p, k = d.mean(axis=0), d.shape[0]
            if k >= 2:
                F_p = (d - (mean_p if pair_mean == "offset" else 0.0)).T / np.sqrt(k - 1)
        F_0 = np.zeros((C, 0))
        if uses_prior:
            reference = F_u if prior_on_excess else F_p
            if reference.size:
                # the data's nuisance variance along the prior's directions, per unit of prior
                Q, _ = np.linalg.qr(prior)
                level = np.sum((Q.T @ reference) ** 2) / max(np.sum((Q.T @ prior) ** 2), 1e-300)
                F_0 = prior * np.sqrt(level)
        return cls(mean_u, n_u, mean_p, k, F_u, F_p, F_0, float(prior_weight), Xm - Xm.mean(axis=0), Uc, d,
                   unlabelled_shift=bool(unlabelled_shift))

    # ---------------------------------------------------------- combination
    def _weights(self, unlabelled_weight: float) -> tuple[float, float, float, float]:
        """Degrees of freedom of each source (the unlabelled one times its weight) and
        their normaliser. With pairs or a prior, Σ is the dof-weighted mean of the
        sources; when the unlabelled spectra are the only source, a weight below 1
        shrinks their estimate towards "no nuisance" instead."""
        nu = float(max(self.n_unlabelled - 1, 0)) if self.F_unlabelled.size else 0.0
        wp = float(max(self.k - 1, 0)) if self.F_pairs.size else 0.0
        w0 = self.prior_weight if self.F_prior.size else 0.0
        wu = float(unlabelled_weight) * nu
        total = wu + wp + w0 if wp + w0 > 0 else nu
        return wu, wp, w0, total

    def covariance_factor(self, unlabelled_weight: float = 1.0) -> np.ndarray:
        """F with ``F Fᵀ = Σ``: the degrees-of-freedom-weighted mean of the unlabelled
        excess, the pair scatter and the prior, the unlabelled dof multiplied by
        ``unlabelled_weight`` (0 = ignore it, 1 = trust it as much as its dof say)."""
        wu, wp, w0, total = self._weights(unlabelled_weight)
        C = self.master_centred.shape[1]
        if total <= 0:
            return np.zeros((C, 0))
        parts = [np.sqrt(w / total) * F for w, F in ((wu, self.F_unlabelled), (wp, self.F_pairs), (w0, self.F_prior))
                 if w > 0]
        return np.hstack(parts) if parts else np.zeros((C, 0))

    def subspace(self, r: int, unlabelled_weight: float = 1.0) -> np.ndarray:
        """Orthonormal basis (C × r) of the r leading nuisance directions of Σ."""
        F = self.covariance_factor(unlabelled_weight)
        if F.shape[1] == 0:
            return np.zeros((F.shape[0], 0))
        U, _, _ = np.linalg.svd(F, full_matrices=False)
        return U[:, : int(r)]

    # --------------------------------------------------------------- offset
    def offset(self, coef: np.ndarray, unlabelled_weight: float = 1.0) -> float:
        """``bᵀ μ̂`` for a linear model ``b``: the pair and the unlabelled estimates of the
        prediction offset, weighted by the inverse of their error variances along ``b``.

        The per-sample nuisance variance along ``b`` is the larger of ``bᵀΣb`` (Σ as the
        model was trained with, i.e. with ``unlabelled_weight``) and an empirical reading: the scatter of the pairs'
        differences along ``b`` (k ≥ 2), or with a single pair the excess spread of the
        unlabelled target spectra over the master's along ``b``. A model trained to be
        blind to Σ̂ sees little of Σ̂ *by construction*; the empirical reading keeps a
        few pairs from being trusted beyond what the spectra themselves show.

        When the unlabelled target set's mean is not shifted from the master's beyond
        sampling (``unlabelled_shift`` False), the unlabelled estimate is zero: ``bᵀ(x̄_u − x̄)``
        would then be ``ȳ_u − ȳ`` — chemistry, not instrument — and subtracting it costs
        the sampling error of two means, which dwarfs a good calibration's error when the
        instruments barely differ.

        When the two estimates disagree by more than their stated errors allow
        (z² above the 99 % point of χ²₁, :data:`CONSISTENCY_Z2`), those errors are not
        to be believed, and the offset is the plain mean of the two.
        """
        b = np.asarray(coef, dtype=float)
        F = self.covariance_factor(unlabelled_weight)
        n = self.master_centred.shape[0]
        chem = float(np.sum((self.master_centred @ b) ** 2)) / max(n - 1, 1)
        nuis = float(np.sum((F.T @ b) ** 2)) if F.size else 0.0
        if self.pair_differences is not None and self.k >= 2:
            nuis = max(nuis, float(np.var(self.pair_differences @ b, ddof=1)))
        if self.unlabelled_centred is not None and self.n_unlabelled >= 2:
            # the target spectra's excess spread along b over the master's: per-sample
            # nuisance the pairs may not show (a few pairs, or pairs chosen at the extremes)
            spread = float(np.sum((self.unlabelled_centred @ b) ** 2)) / (self.n_unlabelled - 1)
            nuis = max(nuis, spread - chem)
        estimates = []
        if self.mean_unlabelled is not None:
            var_u = chem * (1.0 / self.n_unlabelled + 1.0 / n) + nuis / self.n_unlabelled
            estimates.append((float(b @ self.mean_unlabelled) if self.unlabelled_shift else 0.0, var_u))
        if self.mean_pairs is not None:
            estimates.append((float(b @ self.mean_pairs), nuis / self.k))
        if not estimates:
            return 0.0
        if len(estimates) == 1:
            return estimates[0][0]
        (cu, vu), (cp, vp) = estimates
        if self.k < self.min_pairs_offset:
            # too few pairs to tell their error (one or two samples, perhaps the most
            # extreme ones): the unlabelled estimate stands
            return cu
        if (cu - cp) ** 2 > CONSISTENCY_Z2 * (vu + vp):
            # the two disagree beyond their stated errors: the weights cannot be trusted
            return 0.5 * (cu + cp)
        return _inverse_variance_mean(cu, vu, cp, vp)

    def derived_offset(self, coef: np.ndarray, *, y_var: float, model_mse: float, pair_nuisance: float | None,
                       few_pairs: str = "unlabelled") -> tuple[float, dict]:
        """``bᵀμ̂`` with each estimate weighted by its error against the *test set's own*
        mean residual (the offset that minimises its RMSEP), derived rather than read off
        the model:

        * unlabelled, ``bᵀ(x̄_u − x̄)``: with the unlabelled spectra the test spectra, its
          error is exactly ``ȳ_test − ȳ`` — chemistry sampling, whatever ``b`` and the
          instrument — with variance ``var(y)(1/n_u + 1/n)``, known from the master labels;
        * pairs, ``bᵀd̄``: the pairs' mean per-sample nuisance along ``b`` against the test
          samples', plus the test samples' mean calibration error:
          ``nuis (1/k + 1/n_u) + mse/n_u``, with ``nuis`` read out of sample
          (``pair_nuisance``: each pair's difference along the model refitted without it —
          ``b`` is trained blind to the pairs' own scatter, so their in-sample scatter along
          it understates a new sample's).

        Without ``pair_nuisance`` (the caller's verdict: too few pairs to read it) the
        unlabelled estimate stands (``few_pairs="unlabelled"``), or (``"disagreement"``) the
        pairs' error variance is read off the two estimates' disagreement: their errors are
        independent (chemistry sampling against per-sample nuisance), so
        ``E[(cp − cu)²] = vp + vu`` with ``vu`` known, and ``vp = max((cp − cu)² − vu, 0)``
        — the pairs count fully while they agree within the unlabelled estimate's own error,
        and less the further they stray. Not when the unlabelled mean is no instrument
        offset (``unlabelled_shift`` False): its estimate is then zero, whose error is not
        ``vu``. Without unlabelled spectra, the pairs' estimate stands.
        Returns the offset and the pieces (estimates, variances, the pairs' share) for the record.
        """
        b = np.asarray(coef, dtype=float)
        n = self.master_centred.shape[0]
        detail: dict = {"rule": "derived"}
        cu = vu = cp = vp = None
        if self.mean_unlabelled is not None:
            cu = float(b @ self.mean_unlabelled) if self.unlabelled_shift else 0.0
            vu = float(y_var) * (1.0 / self.n_unlabelled + 1.0 / n)
            detail.update(unlabelled=cu, unlabelled_var=vu)
        if self.mean_pairs is not None:
            cp = float(b @ self.mean_pairs)
            detail["pairs"] = cp
        if few_pairs not in ("unlabelled", "disagreement"):
            raise ValueError(f"few_pairs must be 'unlabelled' or 'disagreement', got {few_pairs!r}")
        disagreement = pair_nuisance is None and few_pairs == "disagreement" and self.unlabelled_shift
        if cp is None or (cu is not None and pair_nuisance is None and not disagreement):
            detail["source"] = "unlabelled" if cu is not None else "none"
            return (cu if cu is not None else 0.0), detail
        if cu is None:
            detail["source"] = "pairs"
            return cp, detail
        if disagreement:
            vp = max((cp - cu) ** 2 - vu, 0.0)
            detail.update(pairs_var=vp, source="both (disagreement)")
        else:
            n_u = self.n_unlabelled
            mse = float(model_mse) if np.isfinite(model_mse) and model_mse > 0 else 0.0  # NaN: not cross-validated
            vp = float(pair_nuisance) * (1.0 / self.k + 1.0 / n_u) + mse / n_u
            detail.update(pairs_var=vp, pair_nuisance=float(pair_nuisance), source="both")
        # No disagreement fallback here: both errors are derived or read out of sample, and
        # averaging towards an estimate that disagrees (a test set whose chemistry differs
        # from the calibration's, a gain) was measured worse (docs/benchmarks.md)
        offset = _inverse_variance_mean(cu, vu, cp, vp)
        detail["pairs_share"] = (float("nan") if cp == cu else float((offset - cu) / (cp - cu)))
        return offset, detail


def _inverse_variance_mean(cu: float, vu: float, cp: float, vp: float) -> float:
    floor = 1e-12 * max(vu, vp) + 1e-300
    wu, wp = 1.0 / max(vu, floor), 1.0 / max(vp, floor)
    return float((wu * cu + wp * cp) / (wu + wp))
