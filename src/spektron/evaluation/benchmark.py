"""Run a calibration-transfer benchmark sweep: records, one per method and cell.

``run_benchmark`` loops repeats × instrument pairs × properties × k × methods over one
:class:`~spektron.evaluation.protocol.ProtocolSplit` per (repeat, pair, property), so
every method sees the same samples, and shares fitted models through one
:class:`~spektron.methods.context.ModelCache` (the master PLS is fitted once per
split and property, not once per method and k). What the records say — tables,
``summary.md``, plots, files — is :mod:`spektron.evaluation.results`' job.
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from typing import Callable, Iterable, Sequence

import numpy as np

from spektron.evaluation.metrics import regression_metrics
from spektron.evaluation.protocol import check_protocol, make_split, parse_splits
from spektron.evaluation.records import RECORD_KEYS
from spektron.methods.context import ModelCache
from spektron.methods.registry import check_methods, method_spec

__all__ = ["RECORD_KEYS", "parse_pairs", "run_benchmark"]


def parse_pairs(text: str | Sequence) -> list[tuple[str, str]]:
    """``"m5:mp5,m5:mp6"`` (or a list of such strings / tuples) → ``[("m5","mp5"), ...]``."""
    items = text.split(",") if isinstance(text, str) else list(text)
    pairs = []
    for item in items:
        if isinstance(item, (tuple, list)) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
            continue
        parts = str(item).strip().split(":")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"bad instrument pair {item!r}: expected MASTER:TARGET, e.g. m5:mp5")
        pairs.append((parts[0], parts[1]))
    if not pairs:
        raise ValueError("no instrument pairs given")
    return pairs


def _validate(dataset, methods, pairs, properties, ks, split, selection, cal_fraction, repeats, unlabelled,
              pool_fraction):
    methods = check_methods(methods)
    for master, target in pairs:
        dataset.pair(master, target)
        if master == target:
            raise ValueError(f"pair {master}:{target} has the same instrument on both sides")
    properties = list(properties)
    if not properties:
        raise ValueError("no properties given")
    unknown = [p for p in properties if p not in dataset.property_names]
    if unknown:
        raise ValueError(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(dataset.property_names) or 'none'}"
        )
    ks = sorted({int(k) for k in ks})
    if not ks:
        raise ValueError("no k values given")
    if ks[0] < 0:
        raise ValueError(f"k must be ≥ 0, got {ks[0]}")
    splits = parse_splits(split)
    for s in splits:
        n_rep = check_protocol(repeats, s, selection, unlabelled, pool_fraction)
    for prop in properties:
        n_valid = int(np.isfinite(dataset.instruments[pairs[0][0]].property(prop)).sum())
        n_cal = int(round(cal_fraction * n_valid))
        if unlabelled == "pool":
            n_cal -= int(round(pool_fraction * n_cal))
        if ks[-1] > n_cal:
            raise ValueError(
                f"k = {ks[-1]} transfer samples requested but the calibration set for {prop!r} has only {n_cal}"
            )
    for m in methods:
        if method_spec(m).requires_pairs and all(k == 0 for k in ks):
            raise ValueError(f"method {m!r} needs at least 1 transfer sample (k ≥ 1)")
    return methods, properties, ks, n_rep, splits


def run_benchmark(
    dataset,
    methods: Iterable[str],
    pairs: Sequence[tuple[str, str]] | str,
    properties: Iterable[str] | None = None,
    ks: Iterable[int] = (0, 1, 3, 5, 10, 20, 30),
    selection: str = "ks",
    repeats: int = 5,
    split: str | Sequence[str] = "ks",
    seed: int = 0,
    cal_fraction: float = 0.8,
    method_params: dict[str, dict] | None = None,
    progress: bool = True,
    on_note: Callable[[str], None] | None = None,
    blas_threads: int | None = 1,
    n_jobs: int = 1,
    on_error: str = "raise",
    unlabelled: str = "test",
    pool_fraction: float = 0.2,
    predictions: bool = False,
) -> list[dict]:
    """Evaluate every method on every (repeat, pair, property, k) cell.

    Returns a list of records with keys :data:`RECORD_KEYS` plus ``split``, ``seconds``
    (fit + predict time) and, for a shifted split, ``batch`` (the end the batch came from).
    ``split`` is one of :data:`~spektron.evaluation.protocol.SPLITS` or several
    (``"random,shifted"`` or a list): each split runs every cell, so a random and a
    shifted batch are compared on the same methods and seeds. Cells where a pairs-based method meets k = 0
    are skipped with a note (``on_note``, default ``warnings.warn``); a request in
    which such a method has *no* valid k is an error, as are unknown names and
    k larger than the calibration set — all raised before any work starts.

    ``blas_threads`` caps BLAS threads during the run: the matrices here are small
    (tens of samples × hundreds of channels), where multi-threaded BLAS is slower —
    measured 40× slower for the SVDs inside SST on a busy 2-core machine.

    ``n_jobs`` > 1 evaluates the (repeat, pair, property) groups in that many worker
    processes (joblib); the records are the same, in the same order, as with one.
    Give the neural methods ``num_threads`` so that jobs × threads fits the cores.

    ``on_error="record"`` keeps going when a method fails on a cell: its record has
    NaN metrics and an ``error`` field ("ExceptionType: message"), and a note names the
    method, cell and error — one method breaking on one data set must not cost the
    rest of a long run. ``"raise"`` (default) re-raises the first failure.

    ``unlabelled`` chooses the unlabelled target spectra every method may use
    (:mod:`~spektron.evaluation.protocol`): ``"test"`` (default, transductive: the test
    spectra with labels hidden), ``"pool"`` (a disjoint pool of ``pool_fraction`` of the
    non-test samples) or ``"calibration"`` (the leaky setting of earlier runs). Every
    record carries it as ``unlabelled``.

    ``predictions=True`` adds each cell's test predictions (``y_pred``), reference values
    (``y_true``) and test row indices (``test_rows``) to its record (kept out of
    ``results.csv``).
    """
    note = on_note or (lambda msg: warnings.warn(msg, stacklevel=3))
    if isinstance(n_jobs, bool) or int(n_jobs) != n_jobs or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer, got {n_jobs!r}")
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    pairs = parse_pairs(pairs)
    properties = list(dataset.property_names) if properties is None else list(properties)
    methods, properties, ks, n_rep, splits = _validate(dataset, methods, pairs, properties, ks, split, selection,
                                                       cal_fraction, repeats, unlabelled, pool_fraction)
    if unlabelled == "calibration":
        note("unlabelled=calibration: the unlabelled target spectra are the target measurements of the master "
             "calibration samples, which hands transductive methods implicit transfer pairs (leaky)")
    if n_rep > 1 and "ks" in splits and selection == "ks":
        note(
            f"split=ks and selection=ks are deterministic: the {n_rep} repeats share one split and transfer set "
            "and differ only in each method's random seed (CV folds, network initialisation); use --split random "
            "or --selection random for sampling variation"
        )
    skipped = [m for m in methods if method_spec(m).requires_pairs and 0 in ks]
    if skipped:
        note(f"k = 0 skipped for {', '.join(skipped)}: these methods need at least 1 transfer sample")
    # Factories travel to worker processes by reference (or by value for classes
    # defined in __main__), so methods registered at run time work there too.
    factories = {m: method_spec(m).factory for m in methods}
    params = method_params or {}
    groups = [(s, r, pair, prop) for s in splits for r in range(n_rep) for pair in pairs for prop in properties]
    cells = {g: [(k, m) for k in ks for m in methods if not (k == 0 and m in skipped)] for g in groups}
    protocol = dict(selection=selection, cal_fraction=cal_fraction, seed=seed, on_error=on_error,
                    unlabelled=unlabelled, pool_fraction=pool_fraction, predictions=bool(predictions))
    bar = _progress(progress, sum(len(c) for c in cells.values()))
    records: list[dict] = []
    try:
        if int(n_jobs) == 1:
            for g in groups:
                records += _run_group(dataset, g, cells[g], factories, params, protocol, blas_threads, bar)
        else:
            from joblib import Parallel, delayed

            runner = Parallel(n_jobs=int(n_jobs), return_as="generator")
            for recs in runner(delayed(_run_group)(dataset, g, cells[g], factories, params, protocol, blas_threads)
                               for g in groups):
                records += recs
                if bar is not None:
                    for rec in recs:
                        bar.update(f"{rec['master']}→{rec['target']} {rec['property']} k={rec['k']} {rec['method']}")
    finally:
        if bar is not None:
            bar.close()
    failures: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for rec in records:
        if "error" in rec:
            failures[(rec["method"], rec["error"])].append(rec)
    for (method, error), recs in failures.items():  # one note per method and error, not per cell
        cells = list(dict.fromkeys(f"{r['master']}→{r['target']} {r['property']} k={r['k']}" for r in recs))
        shown = "; ".join(cells[:3]) + (f"; … {len(cells) - 3} more" if len(cells) > 3 else "")
        reps = sorted({r["repeat"] for r in recs})
        note(f"{method} failed on {shown} ({len(recs)} cell{'s' if len(recs) > 1 else ''}, "
             f"repeat{'s' if len(reps) > 1 else ''} {', '.join(map(str, reps[:5]))}{'…' if len(reps) > 5 else ''}): {error}")
    return records


def _run_group(dataset, group, cells, factories, params, protocol, blas_threads, bar=None) -> list[dict]:
    """All (k, method) cells of one (split, repeat, pair, property) group on one protocol split."""
    from threadpoolctl import threadpool_limits

    split, r, (master, target), prop = group
    mdata, tdata = dataset.pair(master, target)
    y = mdata.property(prop)
    with threadpool_limits(limits=blas_threads):
        psplit = make_split(mdata.X, y, split=split, selection=protocol["selection"],
                            cal_fraction=protocol["cal_fraction"], seed=protocol["seed"], repeat=r,
                            unlabelled=protocol["unlabelled"], pool_fraction=protocol["pool_fraction"])
        cache = ModelCache()
        records = []
        for k, m in cells:
            if bar is not None:
                bar.update(f"{master}→{target} {prop} k={k} {m}")
            ctx = psplit.context(mdata.X, tdata.X, y, k, axis=mdata.axis, unit=mdata.unit, names=(master, target, prop),
                                 cache=cache)
            t0 = time.perf_counter()
            rec = {"method": m, "master": master, "target": target, "property": prop, "k": k,
                   "selection": protocol["selection"], "repeat": r}
            try:
                strategy = factories[m](**params.get(m, {})).fit(ctx)
                pred = strategy.predict(tdata.X[psplit.test])
                rec.update(regression_metrics(y[psplit.test], pred))
                rec.update(strategy.diagnostics())
                if protocol["predictions"]:
                    rec.update(y_pred=[float(v) for v in pred], y_true=[float(v) for v in y[psplit.test]],
                               test_rows=[int(i) for i in psplit.test])
            except Exception as exc:  # noqa: BLE001 - recorded and reported, or re-raised
                if protocol["on_error"] == "raise":
                    raise
                rec.update({key: float("nan") for key in ("rmsep", "r2", "bias", "sep")},
                           n_test=int(psplit.test.size), error=f"{type(exc).__name__}: {exc}")
            rec.update(split=split, unlabelled=protocol["unlabelled"], seconds=round(time.perf_counter() - t0, 4))
            if psplit.batch_end is not None:
                rec["batch"] = psplit.batch_end
            records.append(rec)
    return records


class _Bar:
    """A rich progress bar on a terminal; elsewhere (piped to a file, a CI log) a plain line
    every tenth of the run, so a long benchmark is never silent for minutes. Only built
    when asked for, so library use stays quiet."""

    def __init__(self, total: int):
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._total, self._done, self._start = total, 0, time.perf_counter()
        self._next_line = max(1, total // 10)
        self._terminal = Console(stderr=True).is_terminal
        self._stream = sys.stderr
        self._p = None
        if self._terminal:
            self._p = Progress(
                TextColumn("[bold]benchmark"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TimeRemainingColumn(), TextColumn("{task.description}"), transient=False,
            )
            self._p.start()
            self._task = self._p.add_task("", total=total)
        self._started = False

    def _advance(self) -> None:
        self._done += 1
        if self._p is not None:
            self._p.advance(self._task)
        elif self._done >= self._next_line or self._done == self._total:
            elapsed = time.perf_counter() - self._start
            left = elapsed / self._done * (self._total - self._done)
            print(f"benchmark: {self._done}/{self._total} cells ({100 * self._done / self._total:.0f}%), "
                  f"{elapsed:.0f} s elapsed, about {left:.0f} s left", file=self._stream, flush=True)
            self._next_line = self._done + max(1, self._total // 10)

    def update(self, description: str) -> None:
        if self._started:
            self._advance()
        self._started = True
        if self._p is not None:
            self._p.update(self._task, description=description)

    def close(self) -> None:
        if self._started:
            self._advance()
        if self._p is not None:
            self._p.stop()


def _progress(enabled: bool, total: int):
    return _Bar(total) if enabled and total else None
