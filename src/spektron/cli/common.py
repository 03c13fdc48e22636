"""What every command does the same way: one ``error:`` line and exit status 2, and an
output folder checked before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def check_out_dir(out: Path | None, option: str = "--out") -> None:
    """Refuse an output folder that is an existing file — before the run, not after it."""
    if out is not None and out.exists() and not out.is_dir():
        fail(f"{option} {out} is an existing file, not a folder")
