"""``spektron pretrain``: pretrain the disentangling encoder on simulated multi-instrument spectra."""

from __future__ import annotations

from pathlib import Path

import typer

from spektron.cli.common import check_out_dir


def pretrain_command(
    config: Path | None = typer.Option(
        None, "--config", "-c", exists=False, dir_okay=False,
        help="Run file (.toml, .yaml or .yml): training keys plus a data table and a model table. "
             "Default: the packaged small config (spektron/configs/small.toml).",
    ),
    data: str | None = typer.Option(
        None, "--data", help="Data source: 'synthetic' (built-in generator), 'qm9s' or 'pool' (real CSVs)."
    ),
    data_path: Path | None = typer.Option(
        None, "--data-path", help="QM9S file/directory or directory of real spectra CSVs (for --data qm9s|pool)."
    ),
    steps: int | None = typer.Option(None, "--steps", help="Override the number of optimiser steps."),
    out: Path = typer.Option(Path("runs/pretrain"), "--out", "-o", help="Output directory (log, checkpoints, model)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint in --out."),
    extend: bool = typer.Option(False, "--extend", help="With --resume: allow a larger --steps than the run was "
                                                        "planned with; the learning-rate, β and α schedules are "
                                                        "re-planned over the new total from the checkpoint's step."),
    adv_weight: float | None = typer.Option(
        None, "--adv-weight", help="Override model.lambda_adv, the weight of the reversed instrument classifier."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Override the run seed."),
    threads: int | None = typer.Option(None, "--threads", help="torch intra-op threads (default: the config's)."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Write training_dynamics.png at the end."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a live progress bar."),
) -> None:
    """Pretrain the Spektron encoder (masked reconstruction + VIB + instrument adversary).

    Writes OUT/metrics.jsonl (losses and held-out diagnostics), OUT/checkpoints/,
    OUT/config.json, and OUT/model.pt at the end. Ctrl-C saves a checkpoint;
    --resume continues from it. Under torchrun the run is data-parallel:

        torchrun --nproc_per_node 2 -m spektron.cli.main pretrain --out runs/ddp
    """
    import logging

    from spektron.training.config import ConfigError, load_run_config

    check_out_dir(out)

    # Diagnostics lines go through logging when the progress bar is off.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides = {
        "steps": steps,
        "seed": seed,
        "num_threads": threads,
        "data.source": data,
        "data.path": str(data_path) if data_path is not None else None,
        "model.lambda_adv": adv_weight,
    }
    try:
        base_overrides = {k: v for k, v in overrides.items() if k != "steps"}
        base = load_run_config(config, base_overrides)
        if steps is not None and steps != base.steps:
            # the warm-up is a share of the run: --steps scales it with the run
            warmup = max(1, round(base.warmup_steps * steps / base.steps)) if base.warmup_steps else 0
            warmup = min(warmup, steps - 1)
            if warmup != base.warmup_steps:
                typer.echo(f"warm-up scaled with --steps: {warmup} steps ({base.warmup_steps} of {base.steps} "
                           "in the config)")
            overrides["warmup_steps"] = warmup
        run_config = load_run_config(config, overrides)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    if extend and not resume:
        typer.echo("error: --extend continues a run: use it with --resume", err=True)
        raise typer.Exit(code=2)

    from spektron.training.trainer import pretrain

    try:
        result = pretrain(run_config, out, resume=resume, progress=progress, extend=extend)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    if result.is_main:
        if result.interrupted:
            typer.echo(f"interrupted at step {result.step}; checkpoint saved. Continue with --resume.")
            raise typer.Exit(code=130)
        if plot and result.log_path is not None:
            from spektron.training.plots import plot_training_dynamics

            try:
                png = plot_training_dynamics(result.log_path, Path(out) / "training_dynamics.png")
                typer.echo(f"plot: {png}")
            except ValueError:
                pass  # no diagnostics were logged (eval_every = 0)
        typer.echo(result.summary())
