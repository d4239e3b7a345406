"""Benchmarks: ``make bench`` runs every ``bench_*.py`` against one local stack and writes
``bench/RESULTS.md``."""
