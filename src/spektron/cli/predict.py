"""``spektron predict``: apply a saved transfer model to new target spectra."""

from __future__ import annotations

from pathlib import Path

import typer

from spektron.cli.common import fail


_fail = fail


def predict_command(
    model: Path = typer.Option(..., "--model", help="A transfer model written by `spektron transfer --save`."),
    spectra: Path = typer.Option(..., "--spectra", help="Target-instrument spectra to predict (CSV, NPZ, MAT or JCAMP)."),
    out: Path = typer.Option(..., "--out", "-o", help="Predictions CSV to write."),
    resample: bool = typer.Option(False, "--resample", help="Interpolate spectra on another axis onto the model's "
                                                            "(otherwise that is an error)."),
) -> None:
    """Predict a property of new target spectra with a saved transfer model.

    Writes OUT (CSV) with columns sample, <property> (the prediction), T2, Q and domain
    (ok / warning: beyond a 95 % limit / outside: beyond a 99 % limit of the calibration
    domain), and prints how many spectra lie outside it. Example:

        spektron predict --model m5_to_mp5.spk --spectra next_week.csv --out next_week_predictions.csv
    """
    from spektron.cli.transfer import write_predictions
    from spektron.data.readers import read_spectra
    from spektron.transfer.saved import load_model

    try:
        if out.is_dir():
            raise ValueError(f"--out {out} is a folder; give a file name for the predictions")
        fitted = load_model(model)
        data = read_spectra(spectra)
        if data.unit != fitted.unit:
            data = data.to_unit(fitted.unit)
        pred = fitted.predict(data.X, axis=data.axis, resample=resample)
        t2, q, flag = fitted.flags(data.X, axis=data.axis, resample=resample)
    except (ValueError, FileNotFoundError) as err:
        _fail(str(err))
    ids = list(map(str, data.sample_ids)) if data.sample_ids is not None else [str(i) for i in range(len(pred))]
    write_predictions(out, ids, fitted.property_name, pred, t2, q, flag)
    typer.echo(f"predicted {fitted.property_name} for {len(pred)} spectra with {fitted.method}; wrote {out}")
    typer.echo(fitted.domain.summary(flag))
