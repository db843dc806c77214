"""A generator of sample Pulp 2 installations (dump, file tree, plan) for tests and benchmarks."""

from .generate import DumpFormat, SampleSummary, generate_sample

__all__ = ["DumpFormat", "SampleSummary", "generate_sample"]
