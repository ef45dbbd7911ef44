"""Benchmarks (not run by the test suite): `python -m bench [NAME ...]`; results go to docs/benchmarks.md."""
