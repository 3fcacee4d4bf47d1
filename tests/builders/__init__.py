"""Builders of provider objects for tests and benchmarks: one place, no files outside the repository."""
