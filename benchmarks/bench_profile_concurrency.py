"""Profile throughput against concurrency, scripted model with 500 ms simulated latency.

Both runs profile the same primitives (text answers, so each instance is one model call);
the ratio of instances per second at concurrency 8 vs 1 shows how well the runner overlaps
waiting on the model.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks._util import report
from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.profile.runner import ProfileOptions, Profiler
from skvm_core.store.workspace import Workspace

PRIMITIVES = ["reason.arithmetic", "reason.logic", "reason.spatial", "follow.procedure"]
LATENCY_S = 0.5


def _throughput(concurrency: int) -> float:
    model = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text="42"), latency_s=LATENCY_S)
    )
    options = ProfileOptions(
        model=model, primitives=PRIMITIVES, instances=2, concurrency=concurrency
    )
    with tempfile.TemporaryDirectory() as folder:
        profiler = Profiler(options, Workspace(Path(folder)))
        started = time.perf_counter()
        asyncio.run(profiler.run(resume=False))
        elapsed = time.perf_counter() - started
    return profiler.executed / elapsed


def run() -> list[dict]:
    _throughput(8)  # warm up: litellm import and first-call costs would skew the first run
    one = _throughput(1)
    eight = _throughput(8)
    ratio = eight / one
    return [
        report(
            "profile: throughput c=8 vs c=1",
            f"{ratio:.1f}x ({one:.2f} → {eight:.2f} inst/s)",
            ">= 6x",
            ratio >= 6,
        ),
    ]
