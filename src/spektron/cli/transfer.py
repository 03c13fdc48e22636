"""``spektron transfer``: predict a property on a new instrument from a master calibration."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from spektron.cli.common import check_out_dir, fail


_fail = fail


def write_predictions(path: Path, ids, name: str, pred, t2, q, flag) -> None:
    """``sample,<property>,T2,Q,domain`` — one row per spectrum (atomic write)."""
    import csv
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["sample", name, "T2", "Q", "domain"])
            for row in zip(ids, pred, t2, q, flag):
                writer.writerow([row[0], f"{row[1]:.6g}", f"{row[2]:.4g}", f"{row[3]:.4g}", row[4]])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def transfer_command(
    master: Path = typer.Option(..., "--master", help="Master calibration spectra (CSV, NPZ, MAT or JCAMP)."),
    target: Path = typer.Option(..., "--target", help="Target-instrument spectra to predict (same formats). They are "
                                                      "also the unlabelled spectra the method may learn from "
                                                      "(Spektron's test-time training)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: predictions.csv and diagnostics.json."),
    method: str = typer.Option("spektron", "--method", help="A registered method (see `spektron benchmark "
                                                           "--list-methods`), or 'auto': the best of "
                                                           "spektron, meancorr, augment, ds, pds, sbc by "
                                                           "leave-one-pair-out on the transfer pairs (needs ≥ 3; "
                                                           "with fewer, spektron, and it says so)."),
    save: Path | None = typer.Option(None, "--save", help="Also write the fitted transfer model to this file, for "
                                                          "`spektron predict` later."),
    master_properties: Path | None = typer.Option(None, "--master-properties", help="CSV of reference values "
                                                  "('sample' column + one column per property), matched to the "
                                                  "master spectra by sample id. Not needed when --master carries them."),
    prop: str | None = typer.Option(None, "--property", help="Property to predict (needed when there are several)."),
    pairs: str | None = typer.Option(None, "--pairs", help="MASTER_STD_FILE:TARGET_STD_FILE — transfer samples "
                                                           "measured on both instruments (same rows); their reference "
                                                           "values come from --master-properties by sample id."),
    resample: bool = typer.Option(False, "--resample", help="Interpolate target spectra onto the master axis when the "
                                                            "axes differ (otherwise that is an error)."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Pretrained encoder (from `spektron pretrain`) "
                                                                      "for the methods that use one (spektron-deep, "
                                                                      "spektron-codes, coral, mmd, dann, lora)."),
    steps: int = typer.Option(150, "--steps", help="Encoder adaptation steps (methods with an encoder)."),
    ttt_steps: int = typer.Option(3, "--ttt-steps", help="Masked-reconstruction test-time training steps "
                                                         "(spektron-deep)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    threads: int = typer.Option(2, "--threads", help="torch CPU threads (methods with an encoder)."),
) -> None:
    """Transfer a calibration to a new instrument and predict a property.

    Fits METHOD on the master calibration set, the transfer pairs (if any) and the
    target spectra (unlabelled), predicts the target spectra and checks each against
    the calibration domain (Hotelling T² and Q, 95 %/99 % limits).

    Writes OUT/predictions.csv with columns sample, <property> (the prediction), T2, Q
    and domain (ok / warning: beyond a 95 % limit / outside: beyond a 99 % limit), and
    OUT/diagnostics.json (method — and with 'auto' the leave-one-pair-out table —,
    numbers of spectra and pairs, domain limits, the method's own choices). Example:

        spektron transfer --master m5.csv --master-properties properties.csv \\
            --property moisture --target mp5.csv --method auto --pairs pm.csv:pt.csv \\
            --save m5_to_mp5.spk --out results/m5_to_mp5
    """
    import numpy as np

    from spektron.data.properties import reference_values
    from spektron.data.readers import read_spectra
    from spektron.transfer.saved import fit_transfer_model

    check_out_dir(out)
    try:
        if save is not None and save.is_dir():
            raise ValueError(f"--save {save} is a folder; give a file name for the transfer model")
        if method != "auto":
            from spektron.methods.registry import check_methods

            check_methods([method])
        mdata = read_spectra(master)
        tdata = read_spectra(target)
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
        to_master = (lambda X, ax: X) if same_axis else (lambda X, ax: _resampled(X, ax, mdata.axis))
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
            pair_arrays = (pm.X, to_master(pt.X, pt.axis), py)
        target_X = to_master(tdata.X, tdata.axis)
        model = fit_transfer_model(method, mdata.X[keep], y[keep], axis=mdata.axis, unit=mdata.unit, property_name=name,
                                   pairs=pair_arrays, target_unlabelled=target_X,
                                   params={"checkpoint": str(checkpoint) if checkpoint else None, "steps": steps,
                                           "ttt_steps": ttt_steps, "num_threads": threads},
                                   seed=seed)
        pred = model.predict(target_X)
        t2, q, flag = model.flags(target_X)
    except (ValueError, FileNotFoundError) as err:
        _fail(str(err))

    target_ids = list(map(str, tdata.sample_ids)) if tdata.sample_ids is not None else [str(i) for i in range(len(pred))]
    write_predictions(out / "predictions.csv", target_ids, name, pred, t2, q, flag)
    line = model.domain.summary(flag)
    diag = dict(model.summary, property=name, n_target=int(tdata.n_samples), domain=line)
    (out / "diagnostics.json").write_text(json.dumps(diag, indent=2, default=_jsonable))
    if save is not None:
        model.save(save)
    chosen = model.method + (f" (auto: {model.summary['auto_rule']})" if method == "auto" else "")
    typer.echo(f"predicted {name} for {len(pred)} target spectra with {chosen}; wrote {out / 'predictions.csv'}")
    typer.echo(line)
    if save is not None:
        typer.echo(f"saved the transfer model to {save}")


def _resampled(X, axis, onto):
    from spektron.data.spectra import interpolate_spectra

    return interpolate_spectra(X, axis, onto)


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
