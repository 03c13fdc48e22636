"""``spektron sweep vib``: VIB weight sweep selected by cross-instrument retrieval."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Hyper-parameter sweeps, each selected by a held-out criterion.", no_args_is_help=True)


@app.command("vib")
def vib_command(
    weights: str = typer.Option("1e-4,1e-3,1e-2,1e-1", "--weights", help="Comma-separated KL weights w_kl (log scale)."),
    out: Path = typer.Option(Path("runs/sweep-vib"), "--out", "-o", help="Sweep folder: one run per weight + sweep.json."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Pretraining run file (default: the packaged small.toml)."),
    steps: int | None = typer.Option(None, "--steps", help="Override the optimiser steps of every run."),
    seed: int | None = typer.Option(None, "--seed", help="Override the seed (the same for every run)."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write the selected run's report, with the sweep "
                                                                   "table and plot, into its folder."),
    projection: str = typer.Option("umap", "--projection", help="'umap' or 'pca' for the report's latent figures."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Pretrain one model per VIB weight and select the one with the highest cross-instrument
    retrieval accuracy on held-out views (not the lowest training loss).

    Writes OUT/w_kl=<w>/ (a run directory per weight) and OUT/sweep.json; the selected
    run also receives sweep.json and its report (report/report.html).

    Example: spektron sweep vib --weights 1e-4,1e-3,1e-2,1e-1 --steps 300 --out runs/vib
    """
    from spektron.run_layout import SWEEP
    from spektron.workflows.sweep import parse_weights, report_selected, sweep_vib
    from spektron.training.config import ConfigError, load_run_config

    try:
        values = parse_weights(weights)
        overrides = {"steps": steps, "seed": seed}
        run_config = load_run_config(config, overrides)
        sweep = sweep_vib(values, out, run_config, progress=progress, echo=typer.echo)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt as exc:
        typer.echo(f"interrupted: {exc}", err=True)
        raise typer.Exit(code=130) from None
    typer.echo(f"{'w_kl':>8}  {'retrieval':>9}  {'probe z_chem':>12}  {'probe z_inst':>12}  {'final loss':>10}")
    for r in sweep["runs"]:
        mark = "  ← selected" if r["w_kl"] == sweep["selected"] else ""
        loss = f"{r['final_loss']:.4f}" if r["final_loss"] is not None else "—"
        typer.echo(f"{r['w_kl']:>8g}  {100 * r['retrieval_top1']:>8.1f}%  {100 * r['inst_acc_chem']:>11.1f}%  "
                   f"{100 * r['inst_acc_inst']:>11.1f}%  {loss:>10}{mark}")
    typer.echo(f"sweep: {out / SWEEP}")
    if report:
        result = report_selected(sweep, projection=projection)
        typer.echo(f"report of the selected run: {result.html_path}")
