"""A generator of sample Pulp 2 installations (dump, file tree, plan) for tests and benchmarks."""

from .generate import (
    DUMP_FORMS,
    DumpFormat,
    SampleSummary,
    generate_every_form,
    generate_sample,
)
from .reuse import sample_in

__all__ = [
    "DUMP_FORMS",
    "DumpFormat",
    "SampleSummary",
    "generate_every_form",
    "generate_sample",
    "sample_in",
]
