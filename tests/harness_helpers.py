"""Helpers for harness tests: scripted runs in a temporary work dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skvm_core.agent.bare import BareAgent
from skvm_core.agent.result import RunLimits, RunResult
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted


def call(tool: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=tool, arguments=arguments)


def turn(*calls: ScriptedCall, text: str = "", **extra: Any) -> ScriptedTurn:
    return ScriptedTurn(text=text, tool_calls=list(calls), **extra)


async def scripted_run(
    work_dir: Path,
    *turns: ScriptedTurn,
    limits: RunLimits | None = None,
    trace: Path | None = None,
    events: list | None = None,
    protocol: str = "auto",
    prompt: str = "do the task",
    **kwargs: Any,
) -> tuple[RunResult, ScriptedModel]:
    model = ScriptedModel(list(turns))
    model_id = register_scripted(model)
    agent = BareAgent(
        model_id, subscribers=[events.append] if events is not None else None, protocol=protocol
    )
    result = await agent.run(
        prompt,
        work_dir,
        limits=limits or RunLimits(nudge_without_tools=False),
        trace_path=trace,
        **kwargs,
    )
    return result, model
