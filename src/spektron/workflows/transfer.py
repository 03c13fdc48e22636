"""A user's transfer from files: read the master calibration, the target spectra and the
transfer pairs, fit a method (:func:`spektron.transfer.saved.fit_transfer_model`),
predict with the calibration-domain flags, and write what ``spektron transfer`` and
``spektron predict`` promise (``predictions.csv``, ``diagnostics.json``)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spektron.atomic_io import atomic_write
from spektron.data.properties import reference_values
from spektron.data.readers import read_spectra
from spektron.data.spectra import SpectralData, interpolate_spectra
from spektron.methods.registry import check_methods
from spektron.transfer.batch import batch_line
from spektron.transfer.saved import TransferModel, fit_transfer_model, load_model

__all__ = ["Predictions", "predict_file", "transfer_files", "write_predictions", "write_transfer_outputs"]

PREDICTIONS = "predictions.csv"
DIAGNOSTICS = "diagnostics.json"


@dataclass
class Predictions:
    """Predictions of one property for a set of target spectra, with their domain flags."""

    model: TransferModel
    property_name: str
    sample_ids: list[str]
    values: np.ndarray
    t2: np.ndarray
    q: np.ndarray
    flags: np.ndarray

    @property
    def domain_line(self) -> str:
        """"3 of 120 spectra outside the calibration domain …"."""
        return self.model.domain.summary(self.flags)

    @property
    def views_line(self) -> str:
        """Which views of the spectra Spektron averaged ("" for other methods and a single view)."""
        views = self.model.summary.get("views")
        if not views or len(views) < 2:
            return ""
        names = ", ".join("the spectra" if v == "none" else v for v in views)
        dropped = self.model.summary.get("dropped_views")
        extra = f"; dropped, too wide for these spectra: {', '.join(dropped)}" if dropped else ""
        return (f"calibration: the mean of {len(views)} views ({names}), each with its own nuisance model{extra}; "
                f"the lines below describe the first")

    @property
    def unlabelled_line(self) -> str:
        """What Spektron made of the unlabelled target spectra and why ("" for other methods)."""
        summary = self.model.summary
        if "selection_rule" not in summary:
            return ""
        parts = []
        gate = summary.get("gate")
        if gate:  # a gate that could not run (too few spectra) has no p-values
            parts.append(f"covariance gate {'passed' if gate['passed'] else 'not passed'}"
                         + _p_values(gate, p_added="added p", p_lost="lost p"))
        spread = summary.get("spread_check")
        if spread:  # the master calibration's predictions on them against its own (a veto when far wider)
            parts.append(f"predictions spread {spread['ratio']:.3g}× the master's (p = {spread['p']:.3g})")
        tests = "; ".join(parts) + " → " if parts else ""
        return (f"unlabelled target spectra: {tests}covariance weight {summary['unlabelled_weight']:g} "
                f"({summary['selection_rule']}), {summary['n_components']} PLS components")

    @property
    def response_line(self) -> str:
        """The instrument operator Spektron fitted on the pairs, and whether it mapped the
        master set ("" when none was fitted)."""
        r = self.model.summary.get("response")
        if not r:
            return ""
        check = r.get("check")
        errors = (f"held-out pairs' MSE {check['mse_mapped']:.3g} mapped, {check['mse_unmapped']:.3g} unmapped"
                  if check else "")
        if r["used"]:
            verdict = "master spectra mapped through it" + (f" ({errors})" if errors else "")
        elif check:
            verdict = f"not used (it predicts held-out pairs worse: {errors})"
        else:
            verdict = "not used (explains too little and leaves more than white noise)"
        pretty = {"cm-1": "cm⁻¹"}
        unit = pretty.get(r.get("shift_unit", "cm-1"), r.get("shift_unit"))  # saved before: cm⁻¹ only
        stretch = (f" plus a stretch of {r['stretch']:+.3g} {pretty.get(r['axis_unit'], r['axis_unit'])} at the axis's "
                   "high end (the opposite at its low end)" if r.get("stretch") else "")
        return (f"instrument response from the pairs: shift {r.get('shift', r['shift_cm1']):+.3g} {unit}{stretch}, "
                f"resolution {r.get('broadening', r['broadening_cm1']):.3g} {unit}, gain {r['gain']:.3g}; explains "
                f"{r['explained']:.0%} of the pairs' differences, {r['explained_loo']:.0%} out of sample → {verdict}")


    @property
    def offset_line(self) -> str:
        """Where Spektron's prediction offset came from, with its standard error ("" for other methods)."""
        detail = self.model.summary.get("offset")
        if not detail:
            return ""
        gain = self.model.summary.get("pair_gain")
        line = ""
        if gain and gain["applied"]:  # the target rescales what the calibration reads: coefficients divided by it
            line = f"the pairs' gain {gain['slope']:.3g} (± {gain['se']:.2g}, p = {gain['p']:.2g}) divides the coefficients; "
        line += f"prediction offset {detail['offset']:+.4g}" + (f" (± {detail['sd']:.2g})" if "sd" in detail else "")
        source = detail.get("source")
        if source == "both":
            shift = detail.get("batch_shift_sd", 0.0)
            batch = (f"; the batch's chemistry differs from the calibration set's by about {shift:.2g} beyond "
                     "sampling, read off the two estimates' disagreement" if shift > 0 else "")
            return (line + f": pairs {detail['pairs']:+.4g} (± {np.sqrt(detail['pairs_var']):.2g}) and unlabelled "
                    f"{detail['unlabelled']:+.4g} (± {np.sqrt(detail['unlabelled_var']):.2g}), the pairs' share "
                    f"{detail['pairs_share']:.2f}{batch}")
        if source == "pairs":
            return line + " (from the pairs)"
        if source == "unlabelled":
            shrink = detail.get("shrinkage", 1.0)
            how = ("" if shrink >= 0.995 else
                   f", shrunk to {shrink:.0%} of their mean difference {detail['unlabelled']:+.4g}: the two means differ "
                   "little beyond sampling")
            return line + f" (from the unlabelled spectra{how})"
        return line

    @property
    def batch_line(self) -> str:
        """Without pairs: whether the batch looks unlike the calibration set, where Spektron cannot
        tell its chemistry from the instrument ("" for other methods and with pairs)."""
        return batch_line(self.model.summary.get("batch_check"), int(self.model.summary.get("k_pairs", 0)))


def _p_values(test: dict, **labels: str) -> str:
    """" (added p = 0.003, lost p = 0.4)" for the p-values a test reported ("" for none)."""
    shown = [f"{label} = {test[key]:.3g}" for key, label in labels.items() if key in test]
    return f" ({', '.join(shown)})" if shown else ""


def _ids(data: SpectralData, n: int) -> list[str]:
    return list(map(str, data.sample_ids)) if data.sample_ids is not None else [str(i) for i in range(n)]


def _predict(model: TransferModel, data: SpectralData, X: np.ndarray, **kw) -> Predictions:
    pred = model.predict(X, **kw)
    t2, q, flag = model.flags(X, **kw)
    return Predictions(model, model.property_name, _ids(data, len(pred)), pred, t2, q, flag)


def transfer_files(master: str | os.PathLike, target: str | os.PathLike, *, method: str = "spektron",
                   prop: str | None = None, master_properties: str | os.PathLike | None = None,
                   pairs: str | None = None, resample: bool = False, params: dict[str, Any] | None = None,
                   seed: int = 0) -> Predictions:
    """Fit ``method`` (or ``"auto"``) on the files and predict the target spectra.

    ``pairs`` is ``"MASTER_STD_FILE:TARGET_STD_FILE"`` (same rows; reference values by
    sample id from the master's properties). Every problem with the inputs is a
    ``ValueError`` (or ``FileNotFoundError``) naming it.
    """
    if method != "auto":
        check_methods([method])
    mdata, tdata = read_spectra(master), read_spectra(target)
    if tdata.unit != mdata.unit:
        tdata = tdata.to_unit(mdata.unit)
    y, name = reference_values(mdata, master_properties, prop, "master spectra")
    keep = np.isfinite(y)
    if keep.sum() < 4:
        raise ValueError(f"only {int(keep.sum())} master spectra have a value of {name!r}; need at least 4")
    same_axis = tdata.n_channels == mdata.n_channels and np.allclose(tdata.axis, mdata.axis)
    if not same_axis and not resample:
        raise ValueError(f"{target} is on another axis ({tdata.n_channels} channels, {tdata.axis[0]:g}–"
                         f"{tdata.axis[-1]:g}) than {master} ({mdata.n_channels} channels); pass --resample")

    def to_master(data: SpectralData) -> np.ndarray:
        return data.X if same_axis else interpolate_spectra(data.X, data.axis, mdata.axis)

    pair_arrays = None
    if pairs:
        parts = pairs.split(":")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"--pairs must be MASTER_STD_FILE:TARGET_STD_FILE, got {pairs!r}")
        pm, pt = read_spectra(parts[0]), read_spectra(parts[1])
        if pt.unit != mdata.unit:
            pt = pt.to_unit(mdata.unit)
        if pm.n_samples != pt.n_samples:
            raise ValueError(f"--pairs files have {pm.n_samples} and {pt.n_samples} spectra; they must match row by row")
        if pm.n_channels != mdata.n_channels or not np.allclose(pm.axis, mdata.axis):
            raise ValueError("the master transfer spectra must be on the same axis as --master")
        if pt.n_channels != tdata.n_channels or not np.allclose(pt.axis, tdata.axis):
            raise ValueError("the target transfer spectra must be on the same axis as --target")
        py, _ = reference_values(pm, master_properties, name, "master transfer spectra")
        pair_arrays = (pm.X, to_master(pt), py)
    target_X = to_master(tdata)
    model = fit_transfer_model(method, mdata.X[keep], y[keep], axis=mdata.axis, unit=mdata.unit, property_name=name,
                               pairs=pair_arrays, target_unlabelled=target_X, params=params or {}, seed=seed)
    return _predict(model, tdata, target_X)


def predict_file(model: str | os.PathLike | TransferModel, spectra: str | os.PathLike, *,
                 resample: bool = False, trust_pickle: bool = False) -> Predictions:
    """A saved transfer model (path or object) applied to a spectra file (``trust_pickle``: see
    :func:`~spektron.transfer.saved.load_model`)."""
    fitted = load_model(model, trust_pickle=trust_pickle) if not isinstance(model, TransferModel) else model
    data = read_spectra(spectra)
    if data.unit != fitted.unit:
        data = data.to_unit(fitted.unit)
    return _predict(fitted, data, data.X, axis=data.axis, resample=resample)


def write_predictions(path: str | os.PathLike, predictions: Predictions) -> Path:
    """``sample,<property>,T2,Q,domain`` — one row per spectrum (atomic write)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    p = predictions
    with atomic_write(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sample", p.property_name, "T2", "Q", "domain"])
        for row in zip(p.sample_ids, p.values, p.t2, p.q, p.flags):
            writer.writerow([row[0], f"{row[1]:.6g}", f"{row[2]:.4g}", f"{row[3]:.4g}", row[4]])
    return path


def write_transfer_outputs(out: str | os.PathLike, predictions: Predictions) -> tuple[Path, Path]:
    """``OUT/predictions.csv`` and ``OUT/diagnostics.json`` (the model's summary, the
    property, the number of target spectra and the lines the command prints: domain,
    offset and — without pairs — what the batch says)."""
    out = Path(out)
    csv_path = write_predictions(out / PREDICTIONS, predictions)
    diag = dict(predictions.model.summary, property=predictions.property_name,
                n_target=len(predictions.values), domain=predictions.domain_line)
    for key in ("offset_line", "batch_line"):
        line = getattr(predictions, key)
        if line:
            diag[key] = line
    json_path = out / DIAGNOSTICS
    json_path.write_text(json.dumps(diag, indent=2, default=_jsonable))
    return csv_path, json_path


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
