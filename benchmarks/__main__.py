"""Run every benchmark (or the ones named) and print a table: `python -m benchmarks [name…]`."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "bench_startup",
    "bench_toolparse",
    "bench_agent_loop",
    "bench_profile_concurrency",
    "bench_compile",
    "bench_workbench",
    "bench_scheduler",
    "bench_protocols",
    "bench_executors",
    "bench_solidify",
    "bench_harness_reuse",
]


def main(names: list[str]) -> int:
    chosen = [b for b in BENCHMARKS if not names or b.removeprefix("bench_") in names or b in names]
    for name in chosen:
        importlib.import_module(f"benchmarks.{name}").run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
