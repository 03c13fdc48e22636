"""``spektron report RUN_DIR``: the HTML report of a run directory."""

from __future__ import annotations

from pathlib import Path

import typer

from spektron.cli.common import check_out_dir


def report_command(
    run_dir: Path = typer.Argument(..., help="A run directory (from `spektron demo` or `spektron pretrain --out`)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Where report.html and its PNGs go (default RUN_DIR/report)."),
    projection: str = typer.Option("umap", "--projection", help="2-D projection of the latents: 'umap' or 'pca' "
                                                                "(faster; UMAP falls back to PCA if it fails)."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when a verdict check fails."),
) -> None:
    """Write the HTML report of a run directory (figures, tables, verdict).

    Disentanglement tracker, loss terms and schedules, 2-D projections of z_chem and
    z_inst, per-dimension KL, transfer curves, VIB sweep, summary table and verdict.
    Images are embedded in the page and also written beside it.

    Example: spektron report runs/small
    """
    if projection not in ("umap", "pca"):
        typer.echo(f"error: --projection must be 'umap' or 'pca', got {projection!r}", err=True)
        raise typer.Exit(code=2)
    check_out_dir(out)
    from spektron.report.html import write_report
    from spektron.workflows.embeddings import ensure_embeddings

    try:
        if run_dir.is_dir():  # older runs: encode the held-out views once, from model.pt
            ensure_embeddings(run_dir)
        report = write_report(run_dir, out, projection=projection)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for check in report.checks:
        typer.echo(check.line())
    for item in report.missing:
        typer.echo(f"not in the report: {item}")
    typer.echo(f"report: {report.html_path} ({len(report.figures)} figures)")
    if strict and not report.passed:
        raise typer.Exit(code=1)
