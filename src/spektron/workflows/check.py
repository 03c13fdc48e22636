"""Deployment checklist (``spektron check``): what to verify before trusting a transferred model.

Lines a user should read, each pass / fail / n/a with its numbers:

1. **posterior collapse** — fraction of ``z_chem`` dimensions with KL < 0.01 nats;
2. **instrument leakage** — a linear probe reads the instrument from ``z_chem``
   no better than chance;
3. **retrieval** — the same sample is found across instruments from ``z_chem``
   (≥ 80 %); 1–3 on held-out synthetic molecules seen through the model's
   simulated instruments (rebuilt from the run's ``config.json``);
4. **test-time training decreased the loss** on the target's unlabelled spectra;
5. **reconstruction error on the target within the master's range** — the
   median per-spectrum masked-reconstruction error on the target does not exceed
   the 95th percentile on the master: the encoder has seen spectra like these;
6. **predictions within the calibration range** — at least 95 % of the target
   predictions lie inside the master reference range (± 5 % of its span):
   extrapolation is where a calibration cannot be trusted.

4–6 need target spectra (and 5–6 a master calibration file); without them those
lines are n/a. The exit status is non-zero when any line fails.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from spektron.data.properties import reference_values
from spektron.data.readers import read_spectra
from spektron.models.encode import encode_views
from spektron.models.io import load_model
from spektron.report.run import read_json
from spektron.report.verdict import Check, collapse_check, ttt_check, verdict_from_eval
from spektron.run_layout import CONFIG, MODEL
from spektron.training.config import TrainConfig
from spektron.training.data import PretrainData
from spektron.training.diagnostics import evaluate_views
from spektron.transfer import SpektronTransfer
from spektron.transfer.ttt import masked_reconstruction_loss, run_test_time_training

__all__ = ["run_checks", "reconstruction_errors"]

RANGE_MARGIN = 0.05
INSIDE_FRACTION = 0.95


def _resolve(checkpoint: str | os.PathLike) -> tuple[Path, dict[str, Any] | None]:
    path = Path(checkpoint)
    if path.is_dir():
        path = path / MODEL
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path} (give model.pt or the run directory holding it)")
    config_path = path.parent / CONFIG
    return path, (read_json(config_path) if config_path.is_file() else None)


def _axis_cm1(data) -> np.ndarray:
    return 1e7 / data.axis if data.unit == "nm" else np.asarray(data.axis, dtype=float)


def reconstruction_errors(model, X: np.ndarray, axis_cm1: np.ndarray, *, mask_ratio: float = 0.35,
                          seed: int = 0) -> np.ndarray:
    """Per-spectrum masked-reconstruction MSE (the model's standardised units), fixed seeded masks."""
    import torch

    x = torch.as_tensor(np.asarray(X, dtype=float), dtype=torch.float32)
    axis = torch.as_tensor(np.asarray(axis_cm1, dtype=float), dtype=torch.float32)
    n_patches = model.n_patches(x.shape[1])
    n_mask = min(max(int(round(mask_ratio * n_patches)), 1), max(n_patches - 1, 1))
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    errors = []
    with torch.no_grad():
        for row in x:
            mask = (torch.rand(1, n_patches, generator=gen).argsort(dim=1).argsort(dim=1) < n_mask)
            errors.append(float(masked_reconstruction_loss(model, row[None], axis, mask)))
    return np.asarray(errors)


def _latent_checks(model, config: dict[str, Any] | None) -> list[Check]:
    if config is None:
        return [Check("latent diagnostics", "n/a", "no config.json beside the model: cannot rebuild its simulated "
                                                   "instruments and held-out views")]
    train_config = TrainConfig.from_dict(config)
    views = PretrainData(train_config.data, seed=train_config.seed, batch_size=train_config.batch_size).eval_views()
    emb = encode_views(model, views["x"], views["axis"], views["instrument"], views["molecule"])
    diag = evaluate_views(emb["z_chem"], emb["z_inst"], emb["molecule"], emb["instrument"],
                          chem_mu=emb["mu_chem"], chem_logvar=emb["logvar_chem"], seed=train_config.seed)
    verdict = verdict_from_eval(diag, n_test=int(round(0.3 * len(emb["instrument"]))))
    return [collapse_check(diag.get("kl_chem_collapsed_frac"))] + verdict.checks()


def run_checks(
    checkpoint: str | os.PathLike,
    *,
    target: str | os.PathLike | None = None,
    master: str | os.PathLike | None = None,
    prop: str | None = None,
    adaptation_steps: int = 150,
    threads: int = 2,
    master_properties: str | Path | None = None,
) -> list[Check]:
    """All checklist lines for ``checkpoint`` (``model.pt`` or its run directory).

    ``target``: unlabelled spectra of the new instrument; ``master``: the master's
    calibration spectra with reference values (``prop`` picks the property), in the file
    itself or in ``master_properties`` (a CSV matched by sample id). Spectra are files
    :func:`spektron.data.read_spectra` reads.
    """
    import torch

    torch.set_num_threads(threads)
    model_path, config = _resolve(checkpoint)
    model = load_model(model_path)
    checks = _latent_checks(model, config)
    if target is None:
        return checks + [Check(name, "n/a", "give --target FILE (spectra from the new instrument)")
                         for name in ("test-time training decreased the loss", "reconstruction error on the target",
                                      "predictions within the calibration range")]
    tdata = read_spectra(target)
    master_data = read_spectra(master) if master is not None else None
    if master_data is not None and not master_data.same_axis(tdata):
        raise ValueError(f"{master} and {target} are on different axes; resample them onto one grid first")

    estimator, y_cal, name = None, None, None
    has_values = master_data is not None and (master_properties is not None or
                                              (master_data.properties is not None and master_data.property_names))
    if has_values:
        if master_properties is None and prop is None:
            prop = list(master_data.property_names)[0]
        y, name = reference_values(master_data, master_properties, prop, "master spectra")
        rows = np.isfinite(y)
        y_cal = y[rows]
        estimator = SpektronTransfer(checkpoint=str(model_path), steps=adaptation_steps, num_threads=threads).fit(
            master_data.X[rows], y[rows], axis=master_data.axis, unit=master_data.unit, target_unlabelled=tdata.X)
        estimator.adapt(tdata.X)
        ttt = estimator.ttt_result_
    else:
        ttt = run_test_time_training(copy.deepcopy(model), tdata.X, _axis_cm1(tdata))
    checks.append(ttt_check("test-time training decreased the loss", ttt.loss_before, ttt.loss_after,
                            f"{ttt.steps} steps on {ttt.n_spectra} target spectra"))

    if master_data is None:
        checks.append(Check("reconstruction error on the target", "n/a", "give --master FILE to compare with"))
    else:
        encoder = estimator.model_ if estimator is not None else model
        err_m = reconstruction_errors(encoder, master_data.X, _axis_cm1(master_data))
        err_t = reconstruction_errors(encoder, tdata.X, _axis_cm1(tdata))
        limit = float(np.percentile(err_m, 95))
        median = float(np.median(err_t))
        checks.append(Check("reconstruction error on the target within the master's range",
                            "pass" if median <= limit else "fail",
                            f"median on target {median:.4g} vs master 95th percentile {limit:.4g} "
                            f"(master median {np.median(err_m):.4g})"))

    if estimator is None:
        checks.append(Check("predictions within the calibration range", "n/a",
                            "give --master FILE with reference values (in it, or --master-properties FILE) to "
                            "calibrate and predict"))
    else:
        lo, hi = float(y_cal.min()), float(y_cal.max())
        margin = RANGE_MARGIN * (hi - lo)
        pred = estimator.predict(tdata.X)
        inside = float(np.mean((pred >= lo - margin) & (pred <= hi + margin)))
        checks.append(Check(f"predictions within the calibration range ({name})",
                            "pass" if inside >= INSIDE_FRACTION else "fail",
                            f"{100 * inside:.0f}% of {pred.size} predictions inside [{lo - margin:.4g}, {hi + margin:.4g}] "
                            f"(calibration range ± {100 * RANGE_MARGIN:.0f}%; need ≥ {100 * INSIDE_FRACTION:.0f}%)"))
    return checks
