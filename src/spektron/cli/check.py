"""``spektron check CKPT``: the deployment checklist (non-zero exit when a line fails)."""

from __future__ import annotations

from pathlib import Path

import typer


def check_command(
    checkpoint: Path = typer.Argument(..., help="model.pt, or the run directory holding it (and its config.json)."),
    target: Path | None = typer.Option(None, "--target", help="Unlabelled spectra from the new instrument "
                                                              "(CSV, NPZ, MAT or JCAMP-DX)."),
    master: Path | None = typer.Option(None, "--master", help="Master calibration spectra with reference values "
                                                              "(for the reconstruction and prediction-range checks)."),
    master_properties: Path | None = typer.Option(None, "--master-properties", help="CSV of reference values "
                                                  "('sample' + one column per property) matched to --master by sample "
                                                  "id, when --master does not carry them."),
    prop: str | None = typer.Option(None, "--property", help="Property of --master to calibrate (default: the first)."),
    steps: int = typer.Option(150, "--steps", help="Adaptation steps when calibrating on --master."),
    threads: int = typer.Option(2, "--threads", help="torch CPU threads."),
) -> None:
    """Deployment checklist: pass/fail lines to read before trusting a transferred model.

    Posterior collapse, instrument leakage in z_chem, cross-instrument retrieval,
    test-time training lowering the loss, reconstruction error on the target within
    the master's range, and predictions inside the calibration range. Exit status 1
    when any line fails, 2 on bad input.

    Example: spektron check runs/small --target new_instrument.csv --master master_cal.csv --property moisture
    """
    from spektron.workflows.check import run_checks

    try:
        checks = run_checks(checkpoint, target=target, master=master, prop=prop, adaptation_steps=steps,
                            threads=threads, master_properties=master_properties)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for check in checks:
        typer.echo(check.line())
    failed = [c for c in checks if not c.passed]
    typer.echo(f"{len(checks) - len(failed)} of {len(checks)} checks without failure")
    if failed:
        raise typer.Exit(code=1)
