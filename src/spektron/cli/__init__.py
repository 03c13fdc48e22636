"""The ``spektron`` command line (typer)."""
