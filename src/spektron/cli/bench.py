"""``spektron bench``: timings of the model's building blocks on this machine."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Optional

import typer

app = typer.Typer(
    name="bench",
    help="Measure the speed of Spektron's building blocks on this machine.",
    no_args_is_help=True,
)


def _median_seconds(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_model_benchmark(
    lengths: tuple[int, ...] = (64, 256, 1024),
    scan_batch: int = 32,
    scan_states: int = 128,
    batch: int = 32,
    channels: int = 700,
    repeats: int = 3,
    threads: int = 2,
    seed: int = 0,
) -> dict[str, Any]:
    """Parameter count of the default model, parallel vs sequential scan (forward +
    backward) per sequence length, and forward + backward spectra per second."""
    import torch

    from spektron.models import SpektronConfig, SpektronModel
    from spektron.models.dlinoss import discretise, ring_init
    from spektron.models.scan import parallel_scan, sequential_scan

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    init = ring_init(scan_states, generator=torch.Generator().manual_seed(seed))
    raw = [init[k].float().requires_grad_() for k in ("raw_A", "raw_G", "raw_dt")]

    def scan_step(method: Callable, F: torch.Tensor) -> Callable[[], None]:
        def run() -> None:
            M, gains = discretise(*raw)
            method(M, F * gains).square().mean().backward()
        return run

    scan_rows = []
    for L in lengths:
        F = torch.randn(scan_batch, L, scan_states, 1, requires_grad=True)
        t_par = _median_seconds(scan_step(parallel_scan, F), repeats)
        t_seq = _median_seconds(scan_step(sequential_scan, F), repeats)
        scan_rows.append({"length": L, "parallel_s": t_par, "sequential_s": t_seq, "speedup": t_seq / t_par})

    config = SpektronConfig()
    model = SpektronModel(config).train()
    x = torch.randn(batch, channels).cumsum(dim=1) * 0.01
    data = {"x": x, "axis": torch.linspace(4000.0, 10000.0, channels),
            "instrument": torch.arange(batch) % config.n_instruments}

    def model_step() -> None:
        model.zero_grad(set_to_none=True)
        model(data, beta=config.beta_start, alpha=0.5)["loss"].backward()

    t_model = _median_seconds(model_step, repeats)
    return {
        "threads": threads,
        "n_parameters": model.n_parameters(),
        "config": f"d_model={config.d_model}, n_layers={config.n_layers}, state_size={config.state_size}"
                  f" x{2 if config.bidirectional else 1}, experts={config.moe_experts} (top {config.moe_top_k})"
                  f" in blocks {list(config.moe_layers())}",
        "scan": scan_rows,
        "scan_shape": f"batch {scan_batch}, {scan_states} states",
        "model_batch": batch,
        "model_channels": channels,
        "model_step_s": t_model,
        "spectra_per_s": batch / t_model,
    }


def print_model_benchmark(result: dict[str, Any]) -> None:
    """Render :func:`run_model_benchmark`'s result as tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"Default SpektronModel: [bold]{result['n_parameters']:,}[/bold] parameters ({result['config']})")
    table = Table(title=f"D-LinOSS scan, forward + backward ({result['scan_shape']}, {result['threads']} threads)")
    for column in ("length", "parallel (ms)", "sequential (ms)", "speed-up"):
        table.add_column(column, justify="right")
    for row in result["scan"]:
        table.add_row(str(row["length"]), f"{1e3 * row['parallel_s']:.1f}", f"{1e3 * row['sequential_s']:.1f}",
                      f"{row['speedup']:.1f}x")
    console.print(table)
    console.print(
        f"Model forward + backward, batch {result['model_batch']} x {result['model_channels']} channels: "
        f"{1e3 * result['model_step_s']:.0f} ms per step = [bold]{result['spectra_per_s']:.0f} spectra/s[/bold]"
    )


@app.command("model")
def model_command(
    lengths: str = typer.Option("64,256,1024", help="Comma-separated sequence lengths for the scan timing."),
    states: int = typer.Option(128, min=1, help="Oscillator states in the scan timing."),
    batch: int = typer.Option(32, min=1, help="Batch size (scan and model)."),
    channels: int = typer.Option(700, min=2, help="Channels per spectrum for the model timing."),
    repeats: int = typer.Option(3, min=1, help="Timed repetitions (the median is reported)."),
    threads: int = typer.Option(2, min=1, help="torch CPU threads."),
    seed: Optional[int] = typer.Option(0, help="Random seed."),
) -> None:
    """Parameter count of the default model, parallel-vs-sequential scan time at
    several sequence lengths, and training throughput (forward + backward spectra
    per second)."""
    try:
        parsed = tuple(int(v) for v in lengths.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"lengths must be comma-separated integers, got {lengths!r}") from None
    if not parsed or min(parsed) < 1:
        raise typer.BadParameter("lengths must be positive integers")
    result = run_model_benchmark(parsed, batch, states, batch, channels, repeats, threads, seed or 0)
    print_model_benchmark(result)
