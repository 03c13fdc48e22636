"""Benchmark of the Spektron model on this machine (same as ``spektron bench model``).

Run: ``python benchmarks/bench_model.py [--threads 2] [--lengths 64 256 1024 4096]``.
"""

from __future__ import annotations

import argparse

from spektron.cli.bench import print_model_benchmark
from spektron.models.speed import run_model_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions (median reported)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 1024, 4096], help="scan sequence lengths")
    args = parser.parse_args()
    print_model_benchmark(run_model_benchmark(tuple(args.lengths), repeats=args.repeats, threads=args.threads))


if __name__ == "__main__":
    main()
