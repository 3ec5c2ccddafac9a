"""Adaptive recompilation: evidence from failed runs, repairs, rounds, proposals."""
