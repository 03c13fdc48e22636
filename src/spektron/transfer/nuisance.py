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

__all__ = ["InstrumentNuisance", "simulated_nuisance_prior", "covariance_excess_factor", "excess_span"]

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

    The offset along a calibration is :mod:`~spektron.transfer.offset`'s business.
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

    # ------------------------------------------------------------- building
    @classmethod
    def estimate(
        cls,
        master_X: np.ndarray,
        pairs: tuple[np.ndarray, np.ndarray] | None = None,
        target_unlabelled: np.ndarray | None = None,
        prior: np.ndarray | None = None,
        prior_weight: float = 1.0,
        span: np.ndarray | None = None,
        unlabelled_excess: bool = True,
    ) -> "InstrumentNuisance":
        """Estimate μ and Σ's pieces from the master set, the pairs and the unlabelled spectra.

        ``prior`` is a unit-trace factor (:func:`simulated_nuisance_prior`); it is
        scaled here to the nuisance level the data show along its directions (pairs
        if k ≥ 2, else the unlabelled excess); with no data source it is unused.
        The pairs' Σ is their scatter about their mean difference, which the offset carries.
        ``span``: :func:`excess_span` of sets holding the master and unlabelled spectra
        (refits on subsets of them skip its SVD). ``unlabelled_excess`` False leaves
        ``F_unlabelled`` empty, for a caller that gives the unlabelled covariance weight 0
        (Σ and the offset are then the same, without its eigen-decomposition); it is
        computed all the same when it scales the prior (fewer than two pairs).
        """
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
                F_p = (d - mean_p).T / np.sqrt(k - 1)
        F_0 = np.zeros((C, 0))
        if uses_prior:
            reference = F_u if prior_on_excess else F_p
            if reference.size:
                # the data's nuisance variance along the prior's directions, per unit of prior
                Q, _ = np.linalg.qr(prior)
                level = np.sum((Q.T @ reference) ** 2) / max(np.sum((Q.T @ prior) ** 2), 1e-300)
                F_0 = prior * np.sqrt(level)
        return cls(mean_u, n_u, mean_p, k, F_u, F_p, F_0, float(prior_weight), Xm - Xm.mean(axis=0), Uc, d)

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
