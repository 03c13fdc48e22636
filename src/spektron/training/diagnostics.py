"""Disentanglement diagnostics computed on held-out paired views during pretraining.

The SPEC (section 7) asks for three numbers tracked over training:

* instrument accuracy of a linear probe on ``z_chem`` — should fall to chance
  (1 / n_instruments): the chemistry code no longer says which instrument measured;
* the same probe on ``z_inst`` — should be high: the instrument went *somewhere*;
* cross-instrument retrieval top-1 of the same molecule from ``z_chem`` — should be
  high (≥ 80 %), because chance-level instrument accuracy alone is also what a
  collapsed encoder scores.

Plus the per-dimension KL of ``z_chem`` (posterior collapse shows up as many
dimensions with KL ≈ 0; Bowman et al. 2016, "Generating sentences from a
continuous space") and the mixture-of-experts routing balance.

The KL alone can be fooled: with the log-variance clamped below 0 (σ ≤ e^(logvar_max/2))
every dimension pays at least ``½(e^lvmax − 1 − lvmax)`` nats even when its mean is
constant, so a dead dimension still shows KL ≫ 0.01. The collapse count therefore
also uses the information a dimension can actually carry about the input, the
Gaussian-channel estimate ``½ log(1 + Var_x(μ_d) / E_x[σ_d²])`` nats (means that
vary less than the posterior noise carry nothing; cf. the "active units" of Burda
et al. 2016, "Importance weighted autoencoders"). A dimension is collapsed when
either its KL or its information is below 0.01 nats.

The metric functions take NumPy arrays so they can be tested on embeddings whose
answer is known; :func:`evaluate_views` runs a model over a held-out set.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "COLLAPSE_FRACTION_WARN",
    "COLLAPSE_KL_NATS",
    "collapsed_dimensions",
    "collapsed_fraction",
    "evaluate_views",
    "information_per_dimension",
    "kl_per_dimension",
    "probe_accuracy",
    "retrieval_top1",
    "routing_balance",
]

log = logging.getLogger(__name__)

COLLAPSE_KL_NATS = 0.01
"""A latent dimension whose mean KL to the prior is below this carries (almost) no information."""
COLLAPSE_FRACTION_WARN = 0.30
"""Warn when more than this fraction of ``z_chem`` dimensions are collapsed."""


def probe_accuracy(
    z: np.ndarray,
    labels: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> float:
    """Held-out accuracy of a logistic-regression probe predicting ``labels`` from ``z``.

    With ``groups`` (the molecule of each view) the split keeps all views of a
    molecule on one side, so the probe is scored on molecules it never saw.
    """
    z = np.asarray(z, dtype=np.float64)
    labels = np.asarray(labels)
    if z.ndim != 2 or len(z) != len(labels):
        raise ValueError(f"z must be (n, d) with one label per row; got z {z.shape}, labels {labels.shape}")
    if len(np.unique(labels)) < 2:
        raise ValueError("probe_accuracy needs at least two distinct labels")
    if groups is not None:
        split = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
        train, test = next(split.split(z, labels, groups))
    else:
        train, test = train_test_split(np.arange(len(z)), test_size=test_fraction, random_state=seed,
                                       stratify=labels)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(z[train], labels[train])
    return float(probe.score(z[test], labels[test]))


def retrieval_top1(z: np.ndarray, molecules: np.ndarray, instruments: np.ndarray) -> float:
    """Fraction of views whose cosine nearest neighbour *among other instruments' views* is the same molecule.

    Views measured on the query's own instrument are excluded from the candidates,
    so instrument signature cannot help: only chemistry can match.
    """
    z = np.asarray(z, dtype=np.float64)
    molecules = np.asarray(molecules)
    instruments = np.asarray(instruments)
    if not (len(z) == len(molecules) == len(instruments)):
        raise ValueError("z, molecules and instruments must have the same length")
    if len(np.unique(instruments)) < 2:
        raise ValueError("retrieval across instruments needs views from at least two instruments")
    unit = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    similarity[instruments[:, None] == instruments[None, :]] = -np.inf
    nearest = similarity.argmax(axis=1)
    return float(np.mean(molecules[nearest] == molecules))


def kl_per_dimension(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Mean over samples of KL(N(mu, exp(logvar)) ‖ N(0, 1)) per latent dimension, in nats."""
    mu = np.asarray(mu, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    return np.mean(0.5 * (mu**2 + np.exp(logvar) - 1.0 - logvar), axis=0)


def information_per_dimension(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Gaussian-channel information per latent dimension, ``½ log(1 + Var(μ_d) / mean σ_d²)`` nats.

    What a dimension's posterior means can tell apart through its own noise; 0 for
    a dimension whose mean does not depend on the input, whatever its KL.
    """
    mu = np.asarray(mu, dtype=np.float64)
    var_noise = np.mean(np.exp(np.asarray(logvar, dtype=np.float64)), axis=0)
    return 0.5 * np.log1p(mu.var(axis=0) / np.maximum(var_noise, 1e-12))


def collapsed_dimensions(kl_dims: np.ndarray, threshold: float = COLLAPSE_KL_NATS,
                         info_dims: np.ndarray | None = None) -> np.ndarray:
    """Which dimensions are collapsed: KL below ``threshold`` nats (or, when ``info_dims``
    is given, KL *or* information below it)."""
    collapsed = np.asarray(kl_dims) < threshold
    if info_dims is not None:
        collapsed |= np.asarray(info_dims) < threshold
    return collapsed


def collapsed_fraction(kl_dims: np.ndarray, threshold: float = COLLAPSE_KL_NATS,
                       info_dims: np.ndarray | None = None) -> float:
    """Fraction of :func:`collapsed_dimensions`."""
    return float(np.mean(collapsed_dimensions(kl_dims, threshold, info_dims)))


def routing_balance(load: np.ndarray) -> dict[str, float]:
    """Summaries of how evenly tokens were routed to experts.

    ``load`` is the fraction (or count) of routed slots per expert, optionally one
    row per layer. Returns the normalised entropy (1 = perfectly even, 0 = one
    expert takes everything) and the max/min load ratio, worst layer first.
    """
    load = np.atleast_2d(np.asarray(load, dtype=np.float64))
    frac = load / np.maximum(load.sum(axis=1, keepdims=True), 1e-12)
    n_experts = frac.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(frac > 0, frac * np.log(frac), 0.0), axis=1) / np.log(n_experts)
        ratio = frac.max(axis=1) / np.maximum(frac.min(axis=1), 1e-12)
    return {"moe_entropy": float(entropy.min()), "moe_max_min_ratio": float(ratio.max())}


def evaluate_views(
    z_chem: np.ndarray,
    z_inst: np.ndarray,
    molecules: np.ndarray,
    instruments: np.ndarray,
    *,
    chem_mu: np.ndarray | None = None,
    chem_logvar: np.ndarray | None = None,
    expert_load: np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """All diagnostics for one held-out set of views (embeddings already computed).

    Logs a warning when more than 30 % of ``z_chem`` dimensions are collapsed.
    """
    n_instruments = len(np.unique(instruments))
    out: dict[str, Any] = {
        "chance": 1.0 / n_instruments,
        "inst_acc_chem": probe_accuracy(z_chem, instruments, groups=molecules, seed=seed),
        "inst_acc_inst": probe_accuracy(z_inst, instruments, groups=molecules, seed=seed),
        "retrieval_top1": retrieval_top1(z_chem, molecules, instruments),
    }
    if chem_mu is not None and chem_logvar is not None:
        kl = kl_per_dimension(chem_mu, chem_logvar)
        info = information_per_dimension(chem_mu, chem_logvar)
        frac = collapsed_fraction(kl, info_dims=info)
        # The headline probe reads standardised means, so a dimension whose mean
        # varies far less than its posterior noise (carrying < 0.01 nats) still
        # counts; the same probe on the informative dimensions only says whether
        # the instrument sits in what z_chem actually transmits.
        active = info >= COLLAPSE_KL_NATS
        out["n_chem_active"] = int(active.sum())
        if active.any():
            z_active = np.asarray(z_chem)[:, active]
            out["inst_acc_chem_active"] = probe_accuracy(z_active, instruments, groups=molecules, seed=seed)
            out["retrieval_top1_active"] = retrieval_top1(z_active, molecules, instruments)
        out.update(kl_chem_mean=float(kl.mean()), info_chem_mean=float(info.mean()),
                   kl_chem_collapsed_frac=frac,
                   kl_chem_low_kl_frac=collapsed_fraction(kl),
                   kl_chem_low_info_frac=float(np.mean(info < COLLAPSE_KL_NATS)))
        if frac > COLLAPSE_FRACTION_WARN:
            log.warning("posterior collapse: %.0f%% of z_chem dimensions carry < %.2g nats (KL or information)",
                        100 * frac, COLLAPSE_KL_NATS)
    if expert_load is not None:
        out.update(routing_balance(expert_load))
    return out
