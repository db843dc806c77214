"""Time the sample generator: ``python benchmarks/generate_sample.py --units 100000``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_sample_arguments(parser)
    parser.add_argument("--out", type=Path, help="keep the sample here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        started = time.perf_counter()
        summary = common.generate_sample_of(out, args)
        elapsed = time.perf_counter() - started
    print(
        f"{summary.units} units, {summary.repos} repos, {common.sample_form(args)}:"
        f" {elapsed:.1f} s, {summary.units / elapsed:,.0f} units/s"
    )


if __name__ == "__main__":
    main()
