"""Root of the ``spektron`` command: each sub-command lives in its own module."""

from __future__ import annotations

import os

import typer

from spektron._version import __version__
from spektron.training.allocator import keep_freed_memory

app = typer.Typer(
    name="spektron",
    help="Calibration transfer for vibrational spectroscopy (NIR, IR, Raman).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spektron {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Calibration transfer for vibrational spectroscopy (NIR, IR, Raman)."""
    # The command owns its process: let large tensors reuse freed pages (no-op off glibc;
    # SPEKTRON_KEEP_FREED_MEMORY=0 keeps the C library's defaults).
    if os.environ.get("SPEKTRON_KEEP_FREED_MEMORY", "1") != "0":
        keep_freed_memory()


# Sub-commands, one module each (heavy imports happen inside the commands, so
# ``spektron --help`` stays fast). A new command registers here with one line.
from spektron.cli import bench, check, data, sweep  # noqa: E402
from spektron.cli.benchmark import benchmark  # noqa: E402
from spektron.cli.demo import demo_command  # noqa: E402
from spektron.cli.predict import predict_command  # noqa: E402
from spektron.cli.pretrain import pretrain_command  # noqa: E402
from spektron.cli.report import report_command  # noqa: E402
from spektron.cli.transfer import transfer_command  # noqa: E402

app.command("demo")(demo_command)
app.add_typer(data.app, name="data")
app.command("benchmark")(benchmark)
app.command("pretrain")(pretrain_command)
app.command("transfer")(transfer_command)
app.command("predict")(predict_command)
app.command("report")(report_command)
app.add_typer(sweep.app, name="sweep")
app.command("check")(check.check_command)
app.add_typer(bench.app, name="bench")

if __name__ == "__main__":  # pragma: no cover
    app()
