"""``spektron predict``: apply a saved transfer model to new target spectra."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from spektron.cli.common import fail


def predict_command(
    model: Path = typer.Option(..., "--model", help="A transfer model written by `spektron transfer --save`."),
    spectra: Path = typer.Option(..., "--spectra", help="Target-instrument spectra to predict (CSV, NPZ, MAT or JCAMP)."),
    out: Path = typer.Option(..., "--out", "-o", help="Predictions CSV to write."),
    resample: bool = typer.Option(False, "--resample", help="Interpolate spectra on another axis onto the model's "
                                                            "(otherwise that is an error)."),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help="Also load a model file of the old pickle format "
                                      "(written before 2026-12-08). Loading a pickle runs any code it holds: only "
                                      "for files from a source you trust."),
) -> None:
    """Predict a property of new target spectra with a saved transfer model.

    Writes OUT (CSV) with columns sample, <property> (the prediction), T2, Q and domain
    (ok / warning: beyond a 95 % limit / outside: beyond a 99 % limit of the calibration
    domain), and prints how many spectra lie outside it. Loading the model runs no code
    from the file: its header, checksum and the types it holds are checked first. Example:

        spektron predict --model m5_to_mp5.spk --spectra next_week.csv --out next_week_predictions.csv
    """
    from spektron.workflows.transfer import predict_file, write_predictions

    try:
        if out.is_dir():
            raise ValueError(f"--out {out} is a folder; give a file name for the predictions")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            result = predict_file(model, spectra, resample=resample, trust_pickle=trust_pickle)
    except (ValueError, FileNotFoundError) as err:
        fail(str(err))
    for warning in caught:  # e.g. a trusted pickle was loaded: one line each, not Python's two
        typer.echo(f"warning: {warning.message}", err=True)
    write_predictions(out, result)
    typer.echo(f"predicted {result.property_name} for {len(result.values)} spectra with {result.model.method}; "
               f"wrote {out}")
    typer.echo(result.domain_line)
    if result.batch_line:  # fitted without pairs: what the fit's batch said about the offset it took
        typer.echo(f"when the model was fitted: {result.batch_line}")
