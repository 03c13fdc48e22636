"""The median wall time of a callable: what every ``spektron bench`` figure is made of."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

__all__ = ["median_seconds"]


def median_seconds(fn: Callable[[], Any], repeats: int, *, warmup: int = 0,
                   sync: Callable[[], None] | None = None) -> float:
    """Median of ``repeats`` timed calls of ``fn``, after ``warmup`` untimed ones.
    ``sync`` runs before and after each timed call: work queued on an accelerator runs
    asynchronously, and without it the clock would stop before the work does."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if sync is not None:
            sync()
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
