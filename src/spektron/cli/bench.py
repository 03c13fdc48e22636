"""``spektron bench``: timings of the model's and the transfer's building blocks on this machine."""

from __future__ import annotations

from typing import Any, Optional

import typer

from spektron.cli.common import fail

app = typer.Typer(
    name="bench",
    help="Measure the speed of Spektron's building blocks on this machine.",
    no_args_is_help=True,
)


def _int_list(text: str, name: str) -> tuple[int, ...]:
    """``"8,70"`` → ``(8, 70)``; anything else is a usage error naming the option."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"{name} must be comma-separated integers, got {text!r}") from None


def print_model_benchmark(result: dict[str, Any]) -> None:
    """Render :func:`spektron.training.speed.run_model_benchmark`'s result as tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"Default SpektronModel: [bold]{result['n_parameters']:,}[/bold] parameters ({result['config']})")
    paths = result["paths"]
    where = f"{result['threads']} threads" if result.get("device", "cpu") == "cpu" else result["device"]
    table = Table(title=f"D-LinOSS recurrence, forward + backward ({result['scan_shape']}, {where})")
    for column in ("length", "path", "ms", "peak MiB", "vs sequential"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for row in result["scan"]:
        for i, path in enumerate(paths):
            speed = row.get(f"speedup_{path}")
            table.add_row(str(row["length"]) if i == 0 else "", path, f"{1e3 * row[f'{path}_s']:.1f}",
                          f"{row[f'{path}_mib']:.0f}", "—" if speed is None else f"{speed:.1f}x",
                          end_section=i == len(paths) - 1)
    console.print(table)
    if result["model"]:
        table = Table(title=f"Whole model, batch {result['model_batch']} x {result['model_channels']} channels")
        for column in ("scan method", "train spectra/s", "infer spectra/s", "train peak MiB"):
            table.add_column(column, justify="right")
        for row in result["model"]:
            table.add_row(row["scan_method"], f"{row['train_spectra_per_s']:.0f}", f"{row['infer_spectra_per_s']:.0f}",
                          f"{row['train_mib']:.0f}")
        console.print(table)


@app.command("model")
def model_command(
    lengths: str = typer.Option("64,256,1024,4096", help="Comma-separated sequence lengths for the scan timing."),
    states: int = typer.Option(128, min=1, help="Oscillator states in the scan timing."),
    batch: int = typer.Option(32, min=1, help="Batch size (scan and model)."),
    channels: int = typer.Option(700, min=2, help="Channels per spectrum for the model timing."),
    repeats: int = typer.Option(3, min=1, help="Timed repetitions (the median is reported)."),
    threads: int = typer.Option(2, min=1, help="torch CPU threads."),
    paths: Optional[str] = typer.Option(
        None, help="Comma-separated recurrence paths to time (sequential, parallel, convolution, compiled, none; "
                   "'none' skips the recurrence: the floor). Default: every path that runs on the device."),
    model: bool = typer.Option(True, "--model/--no-model", help="Also time the whole default model."),
    device: str = typer.Option("cpu", help="torch device to time on ('cpu', 'cuda')."),
    seed: Optional[int] = typer.Option(0, help="Random seed."),
) -> None:
    """The D-LinOSS recurrence every way (sequential loop, parallel scan, chunked
    convolution, compiled loop; forward + backward, with peak memory) at several sequence
    lengths, and the default model's spectra per second for training and for inference
    (the parallel scan and what ``auto`` picks)."""
    from spektron.training.speed import run_model_benchmark

    parsed = _int_list(lengths, "lengths")
    if not parsed or min(parsed) < 1:
        raise typer.BadParameter("lengths must be positive integers")
    chosen = None if paths is None else tuple(p.strip() for p in paths.split(",") if p.strip())
    try:
        result = run_model_benchmark(parsed, batch, states, batch, channels, repeats, threads, seed or 0,
                                     paths=chosen, model=model, device=device)
    except ValueError as exc:
        fail(str(exc))
    print_model_benchmark(result)


def print_transfer_benchmark(result: dict[str, Any]) -> None:
    """Render :func:`spektron.transfer.speed.run_transfer_benchmark`'s result as tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Covariance excess of a leave-one-out subset ({result['region']}, {result['channels']} channels, "
                        f"median of {result['repeats']})")
    for column in ("samples", "fresh SVD ms", "shared basis ms", "speed-up", "largest difference"):
        table.add_column(column, justify="right")
    for row in result["excess"]:
        table.add_row(str(row["samples"]), f"{1e3 * row['fresh_s']:.1f}", f"{1e3 * row['shared_s']:.1f}",
                      f"{row['speedup']:.1f}x", f"{row['max_difference']:.1e}")
    console.print(table)
    table = Table(title="One default spektron fit + predict")
    for column in ("samples", "k", "seconds"):
        table.add_column(column, justify="right")
    for row in result["fits"]:
        table.add_row(str(row["samples"]), str(row["k"]), f"{row['fit_predict_s']:.2f}")
    console.print(table)


@app.command("transfer")
def transfer_command(
    samples: str = typer.Option("80,300,650", help="Comma-separated numbers of samples (80 % calibration, 20 % test)."),
    k: str = typer.Option("0,10", help="Comma-separated numbers of transfer pairs."),
    repeats: int = typer.Option(3, min=1, help="Timed repetitions (the median is reported)."),
    region: str = typer.Option("nir", help="Spectral region of the synthetic pair: 'nir' (700 channels) or 'mir' (875)."),
    seed: int = typer.Option(0, help="Random seed (data, split and pairs)."),
) -> None:
    """One ``spektron`` transfer fit as the data grow: the covariance excess of a
    leave-one-pair-out subset with a fresh SVD (the reference) and with the basis the
    fit shares across its refits, side by side, and the whole fit + predict time per
    number of samples and k, on a synthetic master → target pair."""
    from rich.progress import Progress

    from spektron.transfer.speed import run_transfer_benchmark

    sizes, counts = _int_list(samples, "samples"), _int_list(k, "k")
    with Progress(transient=True) as bar:
        task = bar.add_task("timing", total=len(sizes) * len(counts))
        try:
            result = run_transfer_benchmark(sizes, counts, repeats, region=region, seed=seed,
                                            progress=lambda label: bar.update(task, description=label, advance=1))
        except ValueError as exc:
            fail(str(exc))
    print_transfer_benchmark(result)
