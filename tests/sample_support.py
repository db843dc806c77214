"""Reading a generated sample back: its dump's documents by collection, its files on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary

Documents = dict[str, list[dict[str, Any]]]


def read(summary: SampleSummary) -> Documents:
    dump = open_dump(summary.dump_path)
    found: Documents = {name: [] for name in dump.collections()}
    for name, document in dump.iter_documents(set(found)):
        found[name].append(document)
    return found


def local(sample: SampleSummary, storage_path: str) -> Path:
    """The file a unit's ``_storage_path`` names, in the sample's Pulp 2 tree."""
    return sample.pulp_root / storage_path.removeprefix("/var/lib/pulp/")
