"""Memory of decoding RPM units: ``python benchmarks/rpm_decode_memory.py [--rounds 10]``.

Generates a small RPM sample, reads its ``rpm`` unit documents from the dump and decodes them
(``decode_package``, as a content batch does) ``--rounds`` times over, printing the process's
resident memory after each round. A worker decodes every package of its batches once: memory
that grows round after round here grows with the packages a worker has migrated.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from pulp2to3.plugins.rpm.packages import decode_package
from pulp2to3.pulp2.dump import open_dump
from pulp2to3.sample import generate_sample


def resident_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pulp2to3-rpm-decode-") as work:
        sample = generate_sample(Path(work), repos=1, units=args.units, plugins=("rpm",))
        dump = open_dump(sample.dump_path)
        documents = list(itertools.islice(dump.iter_collection("units_rpm"), args.units))
    start = resident_mib()
    print(f"{len(documents)} rpm documents; resident {start:.1f} MiB")
    for round_number in range(1, args.rounds + 1):
        for document in documents:
            decode_package(document, "rpm")
        grown = resident_mib() - start
        decoded = round_number * len(documents)
        print(
            f"round {round_number}: {decoded:,} decoded, resident +{grown:.1f} MiB"
            f" ({grown * 1024 * 1024 / decoded:.0f} bytes a package)"
        )


if __name__ == "__main__":
    main()
