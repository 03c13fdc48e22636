"""``spektron benchmark``: run the calibration-transfer sweep on a paired data set."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import typer

from spektron.cli.common import check_out_dir, fail

CORN_UNITS = {"moisture": "% w/w", "oil": "% w/w", "protein": "% w/w", "starch": "% w/w"}
DEFAULT_METHODS = "none,target,meancorr,ds,pds,sst,sbc,augment,spektron"


_fail = fail


def _split_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def _thread_params(methods: list[str], threads: int | None) -> dict[str, dict]:
    """``num_threads`` for every method that takes it (unknown names are left to the benchmark's check)."""
    if threads is None:
        return {}
    from spektron.methods.registry import available_methods, get_method

    known = set(available_methods())
    return {m: {"num_threads": int(threads)} for m in methods
            if m in known and "num_threads" in get_method(m).get_params()}


def benchmark(
    dataset: str = typer.Argument(..., help="'corn' or a folder in the corn layout: one <instrument>.csv per instrument "
                                            "('sample' column + one column per axis value) and properties.csv."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Where the corn folder lives (for DATASET 'corn'); default: "
                                                           "$SPEKTRON_DATA_DIR or the user cache."),
    methods: str = typer.Option(DEFAULT_METHODS, "--methods", help="Comma-separated method names (see --list-methods)."),
    pairs: str = typer.Option(None, "--pairs", help="Comma-separated MASTER:TARGET pairs, e.g. m5:mp5,m5:mp6. "
                                                    "Default: first instrument as master to every other."),
    properties: str = typer.Option(None, "--properties", help="Comma-separated properties (default: all)."),
    k: str = typer.Option("0,1,3,5,10,20,30", "--k", help="Comma-separated numbers of transfer samples."),
    selection: str = typer.Option("ks", "--selection", help="Transfer-sample selection: ks (Kennard–Stone) or random."),
    repeats: int = typer.Option(None, "--repeats", min=1, help="Repeats (default: 1 with --split ks --selection "
                                                               "ks, which are deterministic — further repeats would "
                                                               "differ only in each method's seed —, else 5)."),
    split: str = typer.Option("ks", "--split", help="Calibration/test split: ks (Kennard–Stone on the master), random, "
                              "shifted (the test set is a batch at the top or bottom of the property's range, "
                              "alternating by repeat: chemistry unlike the calibration set's) or shifted-pc (the same "
                              "at one end of the master spectra's first principal component). Several, comma-"
                              "separated (random,shifted), run every cell on each and compare them in summary.md."),
    cal_fraction: float = typer.Option(0.8, "--cal-fraction", help="Fraction of samples in the calibration set (64/16 of 80)."),
    seed: int = typer.Option(0, "--seed", help="Seed for random splits and selections."),
    unlabelled: str = typer.Option("test", "--unlabelled", help="Unlabelled target spectra the methods may use: test "
                                   "(the test spectra, labels hidden; transductive), pool (a disjoint pool of "
                                   "--pool-fraction of the non-test samples) or calibration (the target spectra of the "
                                   "calibration samples: leaky, only to reproduce old figures)."),
    pool_fraction: float = typer.Option(0.2, "--pool-fraction", help="Share of the non-test samples set aside as "
                                        "the unlabelled pool (with --unlabelled pool)."),
    null: str = typer.Option(None, "--null", help="Comma-separated instruments to re-measure: each gets a twin "
                             "'<instrument>-again' (its spectra plus white noise at --null-noise × their sd), and "
                             "without --pairs the pairs are INSTRUMENT:INSTRUMENT-again — a same-instrument check: a "
                             "transfer method should leave the master calibration alone there (≈ none)."),
    null_noise: float = typer.Option(1e-3, "--null-noise", min=0.0, help="Noise of the --null twins, relative to "
                                     "the spectra's standard deviation."),
    null_shift: float = typer.Option(0.0, "--null-shift", help="Axis-scale error of the --null twins, in axis units "
                                     "(nm or cm⁻¹): the twin's channel at a holds what the instrument recorded at "
                                     "a + shift — a second unit of the same model, its wavelength calibration off."),
    null_stretch: float = typer.Option(0.0, "--null-stretch", help="A further axis-scale error of the --null twins "
                                       "that grows along the axis: 0 at its centre, -S at its low end, +S at its "
                                       "high end (axis units) — a wavelength scale stretched as well as offset."),
    resample: bool = typer.Option(False, "--resample", help="Resample instruments on different axis grids onto their "
                                                            "common range (otherwise such data is refused)."),
    out: Path = typer.Option(..., "--out", help="Output folder: results.json, results.csv, summary.md, PNG plots."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write one RMSEP-vs-k PNG per pair and property."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    threads: int = typer.Option(None, "--threads", min=1, help="Torch CPU threads of the neural methods (default: "
                                                               "each method's own, 2; with --jobs, cores ÷ jobs)."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Worker processes: (repeat, pair, property) groups run in "
                                                     "parallel; the results are identical to --jobs 1."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first method that fails on a cell "
                                                               "(default: record the failure as NaN, say so, go on)."),
    list_methods: bool = typer.Option(False, "--list-methods", help="List the registered methods and exit."),
) -> None:
    """Benchmark calibration-transfer methods against the number of transfer samples k.

    RMSEP, R², bias and SEP for every master→target pair and property, with the
    target's own calibration as the bound.

    Example: spektron benchmark corn --data-dir /data --pairs m5:mp5,m5:mp6 --k 0,5,10,30 --out bench/
    """
    from rich.console import Console
    from rich.table import Table

    from spektron.data.paired import REMEASURED_SUFFIX, remeasured
    from spektron.methods import available_methods
    from spektron.evaluation.benchmark import run_benchmark
    from spektron.evaluation.protocol import parse_splits
    from spektron.evaluation.records import by_split
    from spektron.evaluation.results import summary_tables, write_results
    from spektron.methods.registry import method_spec

    console = Console()
    if not console.is_terminal:  # piped to a file: do not wrap the tables at 80 columns
        console = Console(width=200)
    if list_methods:
        for name in available_methods():
            spec = method_spec(name)
            console.print(f"{name:<24} {'pairs' if spec.requires_pairs else '     '}  {spec.description}")
        raise typer.Exit()

    check_out_dir(out)
    if repeats is None:
        repeats = 1 if split == "ks" and selection == "ks" else 5
    try:
        split_list = parse_splits(split)
    except ValueError as exc:
        _fail(str(exc))
    notes: list[str] = []
    null_names = _split_list(null) or []
    if (null_shift or null_stretch) and not null_names:
        _fail("--null-shift and --null-stretch change the --null twins: name the instruments to re-measure with --null")
    try:
        try:
            ks = [int(v) for v in _split_list(k) or []]
        except ValueError:
            _fail(f"--k must be comma-separated integers, got {k!r}")
        if dataset == "corn":
            from spektron.data.corn import load_corn

            data = load_corn(data_dir)
            units = CORN_UNITS
        else:
            from spektron.data.paired import load_paired_directory

            wanted = None
            if pairs is not None and resample:  # resample onto the pairs' common range, not the whole folder's
                from spektron.evaluation.benchmark import parse_pairs

                wanted = list(dict.fromkeys(i.removesuffix(REMEASURED_SUFFIX) for pair in parse_pairs(pairs)
                                            for i in pair))
            elif pairs is None and null_names:  # the pairs will be the twins: load only their instruments
                wanted = null_names
            data = load_paired_directory(dataset, resample=resample, instruments=wanted)
            units = None
        for name in null_names:
            data = remeasured(data, name, null_noise, seed=seed, shift=null_shift, stretch=null_stretch)
            stretched = f" at its centre, {null_shift - null_stretch:g} to {null_shift + null_stretch:g} at its ends"
            what = (f", its axis scale off by {null_shift:g} {data.unit}{stretched if null_stretch else ''} "
                    "(a second unit of the same model)" if null_shift or null_stretch else " (a same-instrument check)")
            notes.append(f"{name}{REMEASURED_SUFFIX} is {name} measured again: its spectra plus white noise at "
                         f"{null_noise:g} × their standard deviation{what}")
        if pairs is None and null_names:
            pairs = ",".join(f"{n}:{n}{REMEASURED_SUFFIX}" for n in null_names)
        if pairs is None:
            names = data.instrument_names
            if len(names) < 2:
                _fail(f"data set {dataset!r} has only one instrument ({names[0]}); need a master and a target")
            pairs = ",".join(f"{names[0]}:{t}" for t in names[1:])
        method_list = _split_list(methods) or []
        if jobs > 1 and threads is None:
            threads = max(1, (os.cpu_count() or 1) // jobs)
        method_params = _thread_params(method_list, threads)
        t0 = time.perf_counter()
        records = run_benchmark(
            data, method_list, pairs, _split_list(properties), ks,
            selection=selection, repeats=repeats, split=split_list, seed=seed, cal_fraction=cal_fraction,
            method_params=method_params, progress=progress, on_note=notes.append, n_jobs=jobs,
            on_error="raise" if fail_fast else "record", unlabelled=unlabelled, pool_fraction=pool_fraction,
        )
        wall = time.perf_counter() - t0
    except (ValueError, KeyError, FileNotFoundError) as exc:
        _fail(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))

    command = "spektron benchmark " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else None
    paths = write_results(records, out, notes=notes, command=command, property_units=units, plots=plots)
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    parts = by_split(records)
    titled = [(f"{s}: {title}" if len(parts) > 1 else title, header, rows)
              for s, recs in parts.items() for title, header, rows in summary_tables(recs)]
    for title, header, rows in titled:
        table = Table(title=title, show_lines=False)
        for h in header:
            table.add_column(h, justify="left" if h == "method" else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    n_files = sum(len(v) for v in paths.values())
    console.print(f"{len(records)} results in {wall:.1f} s; wrote {n_files} files to {out}")
