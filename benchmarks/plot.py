"""Plot what ``migration.py --json`` wrote: end-to-end time against workers for each size (with
the baseline), and the step times of the largest size.

    python benchmarks/plot.py /tmp/bench-10k.json /tmp/bench-100k.json --out docs/benchmarks.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the file backend


def plot(figures: list[dict[str, Any]], out: Path) -> None:
    figures = sorted(figures, key=lambda f: f["units"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=80)
    for size in figures:
        workers = [run["workers"] for run in size["runs"]]
        seconds = [run["seconds"] for run in size["runs"]]
        line = left.plot(workers, seconds, marker="o", label=f"{size['units']:,} units")[0]
        if size["baseline"]:
            left.axhline(
                size["baseline"]["end to end"],
                color=line.get_color(),
                linestyle=":",
                label=f"baseline, {size['units']:,} units",
            )
    left.set_xlabel("worker processes")
    left.set_ylabel("end to end (s)")
    left.set_yscale("log")
    left.set_xticks(sorted({run["workers"] for size in figures for run in size["runs"]}))
    left.legend(fontsize=7)
    largest = figures[-1]
    codes = [
        step["code"].replace("migrate_content.", "content.") for step in largest["runs"][0]["steps"]
    ]
    width = 0.8 / (len(largest["runs"]) + 1)
    for index, run in enumerate(largest["runs"]):
        right.bar(
            [position + index * width for position in range(len(codes))],
            [step["seconds"] for step in run["steps"]],
            width,
            label=f"{run['workers']} worker(s)",
        )
    if largest["baseline"]:
        right.bar(
            [position + len(largest["runs"]) * width for position in range(len(codes))],
            [largest["baseline"].get(step["code"], 0) for step in largest["runs"][0]["steps"]],
            width,
            label="baseline",
            color="grey",
        )
    right.set_xticks(range(len(codes)), codes, rotation=30, ha="right", fontsize=7)
    right.set_ylabel(f"step time at {largest['units']:,} units (s)")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("figures", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.png"))
    args = parser.parse_args()
    plot([json.loads(path.read_text()) for path in args.figures], args.out)


if __name__ == "__main__":
    main()
