"""A fitted transfer, kept: fit any registered method once, save it, predict next week.

:class:`TransferModel` holds the fitted method (any name in the registry: classical,
peers, Spektron and its ablations), the axis and unit it expects, the property, the
calibration domain that flags spectra it should not be trusted on
(:class:`~spektron.transfer.outliers.CalibrationDomain`), a training summary and the
package version. :meth:`TransferModel.save` writes one file atomically in a format whose loading runs no
code from the file (:mod:`~spektron.transfer.model_file`: a checked header and a skops
payload rebuilt only from allow-listed types); :func:`load_model` refuses anything else,
and reads the pickles of format version 1 only when told to trust them.

``method="auto"`` chooses among :data:`AUTO_CANDIDATES` by leave-one-pair-out error on
the transfer pairs (k ≥ 3); with fewer pairs nothing can rank them, and the default
(``spektron``) is used — the summary says which happened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from spektron._version import __version__
from spektron.data.spectra import check_axis, check_spectra, interpolate_spectra, normalise_unit
from spektron.methods.context import TransferContext
from spektron.methods.registry import check_methods, get_method, method_spec
from spektron.transfer.model_file import FORMAT, FORMAT_VERSION, read_model_file, write_model_file
from spektron.transfer.nuisance import InstrumentNuisance
from spektron.transfer.outliers import CalibrationDomain

__all__ = ["AUTO_CANDIDATES", "FORMAT", "FORMAT_VERSION", "TransferModel", "choose_method", "fit_transfer_model",
           "load_model"]

AUTO_CANDIDATES = ("spektron", "meancorr", "augment", "ds", "pds", "sbc")
AUTO_DEFAULT = "spektron"
MIN_PAIRS_AUTO = 3


@dataclass
class TransferModel:
    """A fitted calibration transfer for one property, ready to predict target spectra."""
    method: str
    params: dict[str, Any]
    strategy: Any
    axis: np.ndarray
    unit: str
    property_name: str
    domain: CalibrationDomain
    domain_shift: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)
    spektron_version: str = ""

    # ------------------------------------------------------------ prediction
    def _spectra(self, X, axis=None, resample: bool = False) -> np.ndarray:
        X = check_spectra(X, "spectra")
        if axis is None:
            if X.shape[1] != self.axis.size:
                raise ValueError(f"spectra have {X.shape[1]} channels but the model expects {self.axis.size} "
                                 f"({self.axis[0]:g}–{self.axis[-1]:g} {self.unit}); pass their axis to resample")
            return X
        axis = check_axis(axis, X.shape[1], name="axis of the spectra")
        if axis.size == self.axis.size and np.allclose(axis, self.axis, rtol=1e-6, atol=1e-9):
            return X
        if not resample:
            raise ValueError(f"spectra are on another axis ({axis.size} channels, {axis[0]:g}–{axis[-1]:g}) than the "
                             f"model ({self.axis.size} channels, {self.axis[0]:g}–{self.axis[-1]:g} {self.unit}); "
                             "resample them (CLI: --resample)")
        return interpolate_spectra(X, axis, self.axis)

    def predict(self, X, axis=None, resample: bool = False) -> np.ndarray:
        """Predicted property of target spectra, (n,)."""
        return self.strategy.predict(self._spectra(X, axis, resample))

    def flags(self, X, axis=None, resample: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hotelling T², Q and the domain flag (``ok``/``warning``/``outside``) of target
        spectra, after the mean instrument difference estimated at fit time is removed."""
        return self.domain.flags(self._spectra(X, axis, resample) - self.domain_shift)

    # -------------------------------------------------------------- storage
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` atomically (temporary file + rename) in the safe format of
        :mod:`~spektron.transfer.model_file`; a method it cannot hold is refused by name."""
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{path} is a directory; give a file name for the transfer model")
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_model_file(path, self, method=self.method, property_name=self.property_name)


def load_model(path: str | os.PathLike, *, trust_pickle: bool = False) -> TransferModel:
    """A :class:`TransferModel` written by :meth:`TransferModel.save` (or ``spektron transfer --save``).
    Pickles written before 2026-12-08 load only with ``trust_pickle=True``: unpickling runs any
    code the file names."""
    model = read_model_file(path, trust_pickle=trust_pickle)
    if not isinstance(model, TransferModel):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a Spektron transfer model")
    return model


# ------------------------------------------------------------------ fitting
def _context(master_X, master_y, axis, unit, pairs, unlabelled, seed, property_name):
    pm, pt, py = pairs if pairs is not None else (None, None, None)
    return TransferContext(master_X=master_X, master_y=master_y, axis=axis, unit=unit, transfer_master_X=pm,
                           transfer_target_X=pt, transfer_y=py, target_unlabelled_X=unlabelled, seed=seed,
                           property_name=property_name)


def _strategy(name: str, params: dict[str, Any]):
    """A fresh strategy with those of ``params`` it accepts (``--steps`` means nothing to PLS)."""
    accepted = get_method(name).get_params()
    return get_method(name, **{k: v for k, v in params.items() if k in accepted})


def choose_method(candidates: Sequence[str], master_X, master_y, *, axis, unit, pairs, unlabelled=None,
                  params: dict[str, Any] | None = None, seed: int = 0) -> tuple[str, list[dict[str, Any]], str]:
    """(method, table, rule): leave-one-pair-out RMSE of each candidate on the target
    spectra of the pairs when k ≥ 3, else the default with the reason."""
    candidates = check_methods(candidates)
    params = params or {}
    k = 0 if pairs is None else len(pairs[2])
    if k < MIN_PAIRS_AUTO:
        rule = (f"default {AUTO_DEFAULT!r}: {k} transfer pair{'s' if k != 1 else ''}, and ranking methods needs at "
                f"least {MIN_PAIRS_AUTO} (leave-one-pair-out)")
        return AUTO_DEFAULT, [], rule
    pm, pt, py = pairs
    table = []
    for name in candidates:
        if method_spec(name).requires_pairs and k - 1 < 1:
            continue
        errors = []
        try:
            for i in range(k):
                rest = np.arange(k) != i
                ctx = _context(master_X, master_y, axis, unit, (pm[rest], pt[rest], py[rest]), unlabelled, seed, "y")
                pred = _strategy(name, params).fit(ctx).predict(pt[i:i + 1])[0]
                errors.append(float(pred - py[i]))
        except Exception as exc:  # noqa: BLE001 - a candidate that cannot run here is reported, not fatal
            table.append({"method": name, "loo_rmse": float("nan"), "error": f"{type(exc).__name__}: {exc}"})
            continue
        table.append({"method": name, "loo_rmse": float(np.sqrt(np.mean(np.square(errors))))})
    ok = [row for row in table if np.isfinite(row["loo_rmse"])]
    if not ok:
        raise ValueError("no candidate method could be evaluated on the transfer pairs")
    best = min(ok, key=lambda row: row["loo_rmse"])["method"]
    return best, table, f"leave-one-pair-out over {k} pairs"


def fit_transfer_model(
    method: str,
    master_X,
    master_y,
    *,
    axis,
    unit: str = "nm",
    property_name: str = "y",
    pairs=None,
    target_unlabelled=None,
    params: dict[str, Any] | None = None,
    candidates: Sequence[str] = AUTO_CANDIDATES,
    seed: int = 0,
) -> TransferModel:
    """Fit ``method`` (a registered name, or ``"auto"``) and wrap it as a :class:`TransferModel`.

    ``pairs`` = (master_std, target_std, y_std); ``target_unlabelled``: target spectra
    without labels (e.g. the spectra to predict; test-time training for Spektron).
    """

    master_X = check_spectra(master_X, "master calibration spectra")
    axis = check_axis(axis, master_X.shape[1], name="master axis")
    unit = normalise_unit(unit)
    params = dict(params or {})
    summary: dict[str, Any] = {"requested_method": method}
    if method == "auto":
        method, table, rule = choose_method(candidates, master_X, master_y, axis=axis, unit=unit, pairs=pairs,
                                            unlabelled=target_unlabelled, params=params, seed=seed)
        summary.update(auto_rule=rule, auto_table=table)
    ctx = _context(master_X, master_y, axis, unit, pairs, target_unlabelled, seed, property_name)
    strategy = _strategy(method, params).fit(ctx)
    pair_arrays = (ctx.transfer_master_X, ctx.transfer_target_X) if ctx.k else None
    nuisance = InstrumentNuisance.estimate(master_X, pairs=pair_arrays, target_unlabelled=ctx.target_unlabelled_X)
    domain = CalibrationDomain().fit(master_X, nuisance=nuisance.covariance_factor(1.0))
    # the instrument's mean difference for the domain flags: the pairs' (no chemistry in it) when there are
    # any, else the batch's — which holds the batch's chemistry too, so a batch unlike the calibration set
    # is flagged only as far as it differs beyond its own mean
    if ctx.k:
        shift = (ctx.transfer_target_X - ctx.transfer_master_X).mean(axis=0)
    elif ctx.target_unlabelled_X is not None and len(ctx.target_unlabelled_X):
        shift = ctx.target_unlabelled_X.mean(axis=0) - master_X.mean(axis=0)
    else:
        shift = np.zeros(master_X.shape[1])
    summary.update(method=method, k_pairs=ctx.k, n_master=int(master_X.shape[0]),
                   n_unlabelled=0 if ctx.target_unlabelled_X is None else int(len(ctx.target_unlabelled_X)),
                   domain_components=domain.n_components_, t2_limits=domain.t2_limits_, q_limits=domain.q_limits_)
    est = getattr(strategy, "estimator_", None)
    if est is not None and hasattr(est, "views_"):  # Spektron: the views averaged, the first one's diagnostics
        summary["views"] = list(est.views_)
        if est.dropped_views_:
            summary["dropped_views"] = list(est.dropped_views_)
        est = est.primary_
    for attr in ("selection_rule_", "unlabelled_weight_", "n_components_"):
        if est is not None and hasattr(est, attr):
            summary[attr.rstrip("_")] = getattr(est, attr)
    detail = getattr(est, "offset_detail_", None) if est is not None else None
    if detail:  # where the prediction offset came from
        summary["offset"] = {key: (value if isinstance(value, str) else float(value)) for key, value in detail.items()}
    response = getattr(est, "response_", None) if est is not None else None
    if response is not None:  # the instrument operator fitted on the pairs, and whether it was used
        summary["response"] = {"used": bool(est.response_used_), "explained": response.explained_,
                               "explained_loo": response.explained_loo_,
                               "shift_cm1": response.shift_cm1_, "broadening_cm1": response.broadening_cm1_,
                               "shift": response.shift_, "broadening": response.broadening_,
                               "shift_unit": response.shift_unit_, "floor_ratio": response.floor_ratio_,
                               "stretch": response.stretch_, "axis_unit": response.unit_,
                               "gain": response.gain_, "noise_sd": response.noise_sd_,
                               "check": getattr(est, "response_check_", None)}
    # what the label-free tests said: about the unlabelled spectra (why they were or were not used), the pairs' gain
    for attr, keys in (("gate_", ("passed", "p_added", "p_lost")), ("spread_check_", ("ratio", "p", "vetoed")),
                       ("pair_gain_", ("slope", "se", "p", "applied")),
                       ("batch_check_", ("differs", "matters", "p", "spread_ratio", "p_spread", "pc_ratios",
                                         "p_components", "mean_offset", "calibration_error"))):
        test = getattr(est, attr, None) if est is not None else None
        if test:
            summary[attr.rstrip("_")] = {key: test[key] for key in keys if key in test}
    return TransferModel(method=method, params=strategy.get_params(), strategy=strategy, axis=axis, unit=unit,
                         property_name=property_name, domain=domain, domain_shift=shift, summary=summary,
                         spektron_version=__version__)
