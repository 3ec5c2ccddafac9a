"""Bench scheduler efficiency with the scripted provider.

One run measured alone gives the time a run takes; the ideal wall time for M runs at
concurrency C is M × that / C. The matrix is then run for real, side by side in the same
process, and its wall time compared with the ideal (target: within 1.2×).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks._util import report
from skvm_core.bench.orchestrator import Bench, BenchPlan
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
TASKS = [
    str(ROOT / "sample_skills" / "tasks" / n)
    for n in ("csv-count-status", "csv-mean-score", "log-unique-ips", "sql-low-stock")
]
LATENCY_S = 0.3
CONCURRENCY = 4


def _answer(messages, tools):
    if messages[-1]["role"] == "tool":
        return ScriptedTurn(text="done", latency_s=LATENCY_S)
    return ScriptedTurn(
        tool_calls=[ScriptedCall(name="list_directory", arguments={})], latency_s=LATENCY_S
    )


async def _bench(tasks: list[str], conditions: list[str], runs: int, concurrency: int) -> float:
    model = register_scripted(ScriptedModel(_answer))
    with tempfile.TemporaryDirectory() as folder:
        plan = BenchPlan(
            session="s",
            tasks=tasks,
            targets=[model],
            conditions=conditions,
            runs=runs,
            concurrency=concurrency,
            per_target=concurrency,
        )
        started = time.perf_counter()
        await Bench(plan, Workspace(Path(folder))).run()
        return time.perf_counter() - started


def run() -> list[dict]:
    asyncio.run(_bench(TASKS[:1], ["no-skill"], 1, 1))  # warm up litellm and the sandbox probe
    single = asyncio.run(_bench(TASKS[:1], ["no-skill"], 1, 1))
    total_runs = len(TASKS) * 2 * 2
    wall = asyncio.run(_bench(TASKS, ["no-skill", "original"], 2, CONCURRENCY))
    ideal = total_runs * single / CONCURRENCY
    ratio = wall / ideal
    return [
        report(
            f"bench: {total_runs} runs at concurrency {CONCURRENCY}",
            f"{wall:.2f} s vs ideal {ideal:.2f} s ({ratio:.2f}x)",
            "<= 1.2x",
            ratio <= 1.2,
        )
    ]
