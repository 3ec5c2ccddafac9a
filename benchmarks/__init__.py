"""Performance measurements, run side by side in one process (`python -m benchmarks`).

These machines are noisy, so each benchmark reports a ratio against a baseline measured
in the same run, next to the absolute figure and its target. Nothing here is asserted in
the test suite.
"""
