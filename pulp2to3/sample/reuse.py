"""A sample generated once and used again while it would be generated the same."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .generate import SampleSummary, generate_sample

MANIFEST = "manifest.pickle"
"""Written in the sample's folder once the sample is complete, never before."""


def generator_digest() -> str:
    """The generator's sources: other code may write other bytes for the same parameters."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _mapping_proxy(view: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _read_only, (dict(view),)


def _read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def sample_in(out_dir: Path, **parameters: Any) -> tuple[SampleSummary, bool]:
    """The sample ``generate_sample(out_dir, **parameters)`` writes, and whether the one already
    in ``out_dir`` was reused: it is when its manifest names the same parameters and generator;
    otherwise ``out_dir`` is emptied and the sample generated again."""
    key = {"parameters": parameters, "generator": generator_digest()}
    manifest = out_dir / MANIFEST
    try:
        # Our own pickle, written below in the caller's own work folder.
        stored = pickle.loads(manifest.read_bytes())  # noqa: S301
    except (FileNotFoundError, EOFError, pickle.UnpicklingError):
        stored = None
    if stored is not None and stored["key"] == key:
        return stored["summary"], True
    shutil.rmtree(out_dir, ignore_errors=True)
    summary = generate_sample(out_dir, **parameters)
    written = manifest.with_suffix(".partial")
    with written.open("wb") as out:
        pickler = pickle.Pickler(out)
        # The summary's counts are read-only views; they come back as views of a copy.
        pickler.dispatch_table = {MappingProxyType: _mapping_proxy}
        pickler.dump({"key": key, "summary": summary})
    written.replace(manifest)
    return summary, False
