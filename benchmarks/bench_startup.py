"""Start-up cost of `skvm --help`, beside a bare interpreter start."""

from __future__ import annotations

import subprocess
import sys

from benchmarks._util import interleaved, report


def run(repeats: int = 15) -> list[dict]:
    skvm = [sys.executable, "-m", "skvm_core.cli", "--help"]
    bare = [sys.executable, "-c", "pass"]
    times = interleaved(
        {
            "skvm": lambda: subprocess.run(skvm, capture_output=True, check=True),
            "python": lambda: subprocess.run(bare, capture_output=True, check=True),
        },
        repeats,
    )
    overhead = times["skvm"] - times["python"]
    return [
        report(
            "startup: skvm --help (median)",
            f"{times['skvm'] * 1000:.0f} ms",
            "< 500 ms",
            times["skvm"] < 0.5,
        ),
        report(
            "startup: over bare python",
            f"+{overhead * 1000:.0f} ms ({times['skvm'] / times['python']:.2f}x)",
            "",
            None,
        ),
    ]
