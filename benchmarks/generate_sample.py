"""Time the sample generator: ``python benchmarks/generate_sample.py --units 100000``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pulp2to3.sample import generate_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--fmt", choices=["archive", "folder"], default="archive")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--out", type=Path, help="keep the sample here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        started = time.perf_counter()
        summary = generate_sample(
            out, repos=args.repos, units=args.units, fmt=args.fmt, gzip=args.gzip
        )
        elapsed = time.perf_counter() - started
    print(
        f"{summary.units} units, {summary.repos} repos, {args.fmt}"
        f"{' gzip' if args.gzip else ''}: {elapsed:.1f} s, {summary.units / elapsed:,.0f} units/s"
    )


if __name__ == "__main__":
    main()
