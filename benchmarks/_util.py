"""Small timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def interleaved(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per action, alternating between them so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def report(name: str, value: str, target: str, ok: bool | None) -> dict:
    verdict = {True: "meets target", False: "MISSES target", None: ""}[ok]
    print(f"{name:<44} {value:<40} target {target:<18} {verdict}")
    return {"benchmark": name, "value": value, "target": target, "ok": ok}
