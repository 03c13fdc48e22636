"""``spektron demo``: generate data, pretrain, transfer against the baselines, write the report."""

from __future__ import annotations

from pathlib import Path

import typer


def demo_command(
    out: Path = typer.Option(Path("spektron-demo"), "--out", "-o",
                             help="Run directory to write (metrics, model, benchmark results, report/)."),
    dataset: str = typer.Option("synthetic", "--dataset",
                                help="'synthetic' (built-in generator, no download) or 'corn' (the corn benchmark; "
                                     "needs the corn data: see `spektron data fetch corn`)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the corn folder lives (for --dataset corn); "
                                                                  "default: $SPEKTRON_DATA_DIR or the user cache."),
    quick: bool = typer.Option(False, "--quick", help="Tiny model and data: a smoke test in under two minutes."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data, the instruments and the model."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    cache: bool = typer.Option(True, "--cache/--no-cache",
                               help="Reuse a pretrained model of the same configuration from the user cache "
                                    "(and keep a new one there); --no-cache pretrains again."),
    deep: bool = typer.Option(False, "--deep", help="Also benchmark the first build's deep pipeline "
                                                    "(spektron-deep: encoder adaptation + masked TTT; ~45 s more)."),
) -> None:
    """Run Spektron end to end and write an HTML report.

    With no options: mixtures of synthetic molecules with known concentrations are
    measured on a master instrument and on a simulated instrument never seen in
    pretraining; a small model is pretrained on the built-in generator (about a
    minute on 2 CPU cores; a second run takes it from the user cache), Spektron
    transfers with k = 0, 5 and 10 transfer samples against PLS, DS, PDS,
    slope/bias and the target's own calibration, and the report (with the
    encoder's disentanglement diagnostics) goes to OUT/report/report.html.

    Example: spektron demo --quick --out /tmp/demo
    """
    import time

    from spektron.workflows.demo import DATASETS, run_demo

    if dataset not in DATASETS:
        typer.echo(f"error: --dataset must be one of {', '.join(DATASETS)}, got {dataset!r}", err=True)
        raise typer.Exit(code=2)
    t0 = time.perf_counter()
    try:
        result = run_demo(out, dataset=dataset, data_dir=data_dir, quick=quick, seed=seed, progress=progress,
                          echo=typer.echo, cache=cache, deep=deep)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(code=130) from None
    typer.echo("")
    for check in result.checks:
        typer.echo(check.line())
    typer.echo(f"\nreport: {result.report_path}")
    cached = " from the cache" if result.pretrain_from_cache else ""
    typer.echo(f"wall time {time.perf_counter() - t0:.0f} s (pretraining{cached} {result.timings['pretrain_s']:.0f} s, "
               f"transfer {result.timings['benchmark_s']:.0f} s, report {result.timings['report_s']:.0f} s)")
