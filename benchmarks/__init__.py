"""Benchmarks of the ceasefire pipeline: a synthetic corpus generator and the ``make bench`` script."""
