"""Benchmarks: one script per target, each printing its figures (see docs/benchmarks.md)."""
