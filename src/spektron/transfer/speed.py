"""How fast one ``spektron`` transfer fit runs as the data grow (``spektron bench transfer``).

With k pairs, leave-one-pair-out refits the nuisance model k times per candidate
weight and view, and each refit needs the positive part of ``cov(target) − cov(master)``
(:func:`~spektron.transfer.nuisance.covariance_excess_factor`). On corn (64 calibration
samples) that is cheap; with a few hundred samples its SVD was most of a fit. Every
refit's sets are subsets of the whole master and unlabelled sets, so one basis
(:func:`~spektron.transfer.nuisance.excess_span`) serves them all. This reports that
building block both ways side by side — a fresh SVD per refit (the reference) and the
shared basis — with their largest disagreement, and the whole fit + predict time of the
default ``spektron`` estimator at each size and k.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterable

import numpy as np

from spektron.data.instruments import draw_instruments
from spektron.data.synthetic_pairs import synthetic_transfer_dataset
from spektron.timing import median_seconds
from spektron.transfer.nuisance import covariance_excess_factor, excess_span
from spektron.transfer.views import ViewAveragedTransfer

__all__ = ["run_transfer_benchmark"]


def _pair_data(n_samples: int, region: str, seed: int):
    """A synthetic master → target pair (the demo's instruments), split 80 / 20: the
    calibration set on the master, the rest on the target as unlabelled test spectra."""
    master = draw_instruments(4, seed=0)[0]
    target = replace(draw_instruments(1, seed=7919 + seed)[0], name="target", _cache={})
    ds = synthetic_transfer_dataset(n_samples, 4, 1, master=master, target=target, region=region, seed=seed)
    order = np.random.default_rng(seed).permutation(n_samples)
    n_cal = int(round(0.8 * n_samples))
    cal, test = order[:n_cal], order[n_cal:]
    m, t = ds.instruments[master.name], ds.instruments["target"]
    return m.X, t.X, m.property(ds.property_names[0]), cal, test, m.axis, m.unit


def run_transfer_benchmark(samples: Iterable[int] = (80, 300, 650), ks: Iterable[int] = (0, 10), repeats: int = 3,
                           region: str = "nir", seed: int = 0, progress: Callable[[str], None] | None = None,
                           ) -> dict[str, Any]:
    """Time the covariance excess of a leave-one-out subset (fresh SVD vs the shared
    basis) and one default ``spektron`` fit + predict, for each number of samples and k
    (``progress`` is called with a label after each fit).

    Returns ``{"region", "channels", "repeats", "excess": [...], "fits": [...]}``: per
    number of samples, ``fresh_s``, ``shared_s``, ``speedup`` and ``max_difference`` (the
    largest entry of the two Σ's difference over the largest of Σ); per samples and k,
    ``fit_predict_s``.
    """
    samples, ks = tuple(int(n) for n in samples), tuple(int(k) for k in ks)
    if not samples or min(samples) < 10:
        raise ValueError(f"samples must be integers ≥ 10, got {samples}")
    if not ks or min(ks) < 0:
        raise ValueError(f"k must be non-negative integers, got {ks}")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be ≥ 1, got {repeats}")
    excess, fits, channels = [], [], None
    for n in samples:
        Xm, Xt, y, cal, test, axis, unit = _pair_data(n, region, seed)
        channels = Xm.shape[1]
        if max(ks) > cal.size - 2:
            raise ValueError(f"k = {max(ks)} needs more than {cal.size - 2} calibration samples (samples = {n})")
        master, unlabelled = Xm[cal], Xt[test]
        subset = master[1:]  # leave-one-pair-out's master set
        span = excess_span(master, unlabelled)
        fresh = median_seconds(lambda: covariance_excess_factor(subset, unlabelled), repeats)
        shared = median_seconds(lambda: covariance_excess_factor(subset, unlabelled, span=span), repeats)
        F1, F2 = covariance_excess_factor(subset, unlabelled), covariance_excess_factor(subset, unlabelled, span=span)
        S1, S2 = F1 @ F1.T, F2 @ F2.T
        excess.append({"samples": n, "fresh_s": fresh, "shared_s": shared, "speedup": fresh / max(shared, 1e-12),
                       "max_difference": float(np.abs(S1 - S2).max() / max(np.abs(S1).max(), 1e-300))})
        for k in ks:
            pick = np.random.default_rng([seed, k]).choice(cal, size=k, replace=False) if k else None
            pairs = None if pick is None else (Xm[pick], Xt[pick], y[pick])

            def fit_predict():
                est = ViewAveragedTransfer().fit(master, y[cal], axis=axis, unit=unit, pairs=pairs)
                est.adapt(unlabelled)
                return est.predict(Xt[test])

            fits.append({"samples": n, "k": k, "fit_predict_s": median_seconds(fit_predict, repeats)})
            if progress is not None:
                progress(f"{n} samples, k = {k}")
    return {"region": region, "channels": channels, "repeats": int(repeats), "excess": excess, "fits": fits}
