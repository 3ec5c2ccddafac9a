"""Per-step overhead of the bare agent loop with a zero-latency scripted model.

Side by side in one process: (a) agent runs of N steps, each step one trivial tool call,
and (b) the same N model calls and N tool calls made directly, without the loop. The loop's
own overhead per step is (a − b) / N; the absolute per-step time is reported too.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks._util import report
from skvm_core.agent.bare import BareAgent
from skvm_core.agent.result import RunLimits
from skvm_core.agent.tools import TOOLS, ToolContext, call_tool
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, complete, register_scripted

STEPS = 60
ROUNDS = 5


def _turns() -> list[ScriptedTurn]:
    # Alternate paths so loop detection never fires.
    turns = [
        ScriptedTurn(
            tool_calls=[
                ScriptedCall(name="list_directory", arguments={"path": "." if i % 2 else "./"})
            ]
        )
        for i in range(STEPS)
    ]
    return [*turns, ScriptedTurn(text="done")]


async def _agent(work: Path) -> float:
    agent = BareAgent(register_scripted(ScriptedModel(_turns())))
    started = time.perf_counter()
    result = await agent.run(
        "bench", work, limits=RunLimits(max_steps=STEPS + 1, nudge_without_tools=False)
    )
    assert result.status == "ok", result.status_detail
    return time.perf_counter() - started


async def _direct(work: Path) -> float:
    model_id = register_scripted(ScriptedModel(_turns()))
    schema, fn = TOOLS["list_directory"]
    ctx = ToolContext(work_dir=work)
    messages = [{"role": "system", "content": "bench"}, {"role": "user", "content": "bench"}]
    started = time.perf_counter()
    for _ in range(STEPS + 1):
        response = await complete(model_id, messages, [schema])
        for call in response.tool_calls:
            await call_tool(call.name, fn, ctx, call.arguments)
    return time.perf_counter() - started


async def _measure() -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="skvm-bench-"))
    try:
        await _direct(work)  # warm up litellm and the provider
        agent_times, direct_times = [], []
        for _ in range(ROUNDS):
            agent_times.append(await _agent(work))
            direct_times.append(await _direct(work))
        return min(agent_times), min(direct_times)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run() -> list[dict]:
    agent_s, direct_s = asyncio.run(_measure())
    per_step = agent_s / (STEPS + 1) * 1000
    overhead = (agent_s - direct_s) / (STEPS + 1) * 1000
    return [
        report(
            "agent loop: overhead per step",
            f"{overhead:.2f} ms ({agent_s / direct_s:.2f}x direct)",
            "< 5 ms",
            overhead < 5,
        ),
        report("agent loop: whole step incl. model layer", f"{per_step:.2f} ms", "", None),
    ]
