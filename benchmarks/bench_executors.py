"""The Ray executor against the ideal, side by side in one process.

32 scripted runs, each two model turns of 500 ms simulated latency. One run measured alone
(on the local executor) gives the time a run takes; the ideal wall time at concurrency C is
32 × that / C. The same matrix then runs on a local Ray instance (started once, its start-up
reported apart) and on the local executor, and each wall time is compared with the ideal
(goal for Ray: within 1.3×).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from benchmarks._util import report
from benchmarks.bench_scheduler import TASKS  # the same four tasks as the scheduler benchmark
from skvm_core.bench.orchestrator import Bench, BenchPlan
from skvm_core.executors import make_executor
from skvm_core.store.workspace import Workspace

LATENCY_S = 0.5
CONCURRENCY = 8


def _model(folder: Path) -> str:
    script = {
        "latency_s": LATENCY_S,
        "turns": [
            {"tool_calls": [{"name": "list_directory", "arguments": {}}]},
            {"text": "done"},
        ],
    }
    path = folder / "model.json"
    path.write_text(json.dumps(script))
    return f"scripted/{path}"


async def _bench(folder: Path, tasks: list[str], runs: int, concurrency: int, executor) -> float:
    plan = BenchPlan(
        session=f"s{time.monotonic_ns()}",
        tasks=tasks,
        targets=[_model(folder)],
        conditions=["no-skill", "original"],
        runs=runs,
        concurrency=concurrency,
        per_target=concurrency,
    )
    started = time.perf_counter()
    await Bench(plan, Workspace(folder), executor=executor).run()
    return time.perf_counter() - started


async def _measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        local = make_executor("local")
        await _bench(folder, TASKS[:1], 1, 1, local)  # warm up the model layer and sandbox probe
        single = (await _bench(folder, TASKS[:1], 1, 1, local)) / 2  # two conditions, one run each
        started = time.perf_counter()
        ray = make_executor("ray")
        startup = time.perf_counter() - started
        try:
            # Start the actors and their imports first: that is start-up, reported apart.
            started = time.perf_counter()
            await _bench(folder, TASKS, 1, CONCURRENCY, ray)
            startup += time.perf_counter() - started
            on_ray = await _bench(folder, TASKS, 4, CONCURRENCY, ray)
        finally:
            await ray.close()
        on_local = await _bench(folder, TASKS, 4, CONCURRENCY, local)
    return {"single": single, "startup": startup, "ray": on_ray, "local": on_local}


def run() -> list[dict]:
    m = asyncio.run(_measure())
    total = len(TASKS) * 2 * 4
    ideal = total * m["single"] / CONCURRENCY
    return [
        report(
            f"executors: {total} runs at concurrency {CONCURRENCY}, Ray / ideal",
            f"{m['ray']:.2f} s vs ideal {ideal:.2f} s ({m['ray'] / ideal:.2f}x)",
            "<= 1.3x",
            m["ray"] / ideal <= 1.3,
        ),
        report(
            "executors: the same on the local executor / ideal",
            f"{m['local']:.2f} s ({m['local'] / ideal:.2f}x)",
            "reference",
            None,
        ),
        report(
            "executors: Ray start-up (local instance)", f"{m['startup']:.2f} s", "reported", None
        ),
    ]
