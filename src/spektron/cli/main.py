"""Root of the ``spektron`` command: each sub-command lives in its own module."""

from __future__ import annotations

import typer

from spektron import __version__

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


# Sub-commands register here, one line each.
from spektron.cli import bench as _bench; app.add_typer(_bench.app, name="bench")  # noqa: E402,E702
from spektron.cli.pretrain import pretrain_command; app.command("pretrain")(pretrain_command)  # noqa: E402,E702
from spektron.cli import data as _data; app.add_typer(_data.app, name="data")  # noqa: E402,E702
from spektron.cli.benchmark import benchmark as _benchmark; app.command("benchmark")(_benchmark)  # noqa: E402,E702
from spektron.cli.transfer import transfer_command; app.command("transfer")(transfer_command)  # noqa: E402,E702
from spektron.cli.demo import demo_command; app.command("demo")(demo_command)  # noqa: E402,E702
from spektron.cli.report import report_command; app.command("report")(report_command)  # noqa: E402,E702
from spektron.cli import sweep as _sweep; app.add_typer(_sweep.app, name="sweep")  # noqa: E402,E702
from spektron.cli.check import check_command; app.command("check")(check_command)  # noqa: E402,E702
# (cli modules import lazily-heavy code inside their commands, so --help stays fast)

if __name__ == "__main__":  # pragma: no cover
    app()
