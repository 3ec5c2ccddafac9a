"""Run a bound template in the sandbox: the skill's files laid out, each step in turn with
the parameters as variables, one timeout for the whole job."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from skvm_core.agent.bare import lay_bundle
from skvm_core.agent.folder import changed_files, folder_state
from skvm_core.agent.result import ToolStep
from skvm_core.agent.sandbox import run_command
from skvm_core.agent.tools import ToolContext, ToolError, write_file
from skvm_core.jit.model import Template
from skvm_core.llm.types import ToolCall
from skvm_core.skill import Skill

OUTPUT_CAP = 8_000


class TemplateRun(BaseModel):
    ok: bool
    reason: str = ""
    timed_out: bool = False
    steps: list[ToolStep] = Field(default_factory=list)
    duration_ms: float = 0.0
    outputs: list[str] = Field(default_factory=list)  # files it created or changed


async def run_template(
    template: Template,
    values: dict[str, str],
    work_dir: Path,
    skill: Skill | None,
    *,
    timeout_s: float | None = None,
) -> TemplateRun:
    started = time.perf_counter()
    budget = timeout_s or template.timeout_s
    if skill is not None:
        lay_bundle(skill, work_dir)
    before = folder_state(work_dir)
    env = {p.env: values[p.name] for p in template.params}
    run = TemplateRun(ok=True)
    for index, step in enumerate(template.steps):
        remaining = budget - (time.perf_counter() - started)
        if remaining <= 0:
            run.ok, run.timed_out, run.reason = False, True, f"timed out before step {index + 1}"
            break
        if step.kind == "command":
            call = ToolCall(
                id=f"jit_{index}", name="execute_command", arguments={"command": step.text}
            )
            result = await run_command(
                step.text, work_dir, timeout_s=remaining, output_cap=OUTPUT_CAP, extra_env=env
            )
            output = (result.stdout + result.stderr).strip()
            ok = result.exit_code == 0 and not result.timed_out
            run.steps.append(
                ToolStep(
                    call=call,
                    output=output,
                    ok=ok,
                    exit_code=result.exit_code,
                    duration_ms=result.duration_ms,
                )
            )
            if result.timed_out:
                run.ok, run.timed_out = False, True
                run.reason = f"step {index + 1} timed out"
                break
            if not ok:
                run.ok = False
                run.reason = f"step {index + 1} exited {result.exit_code}: {output[-200:]}"
                break
        else:
            path = _resolved(step.path, env)
            call = ToolCall(
                id=f"jit_{index}", name="write_file", arguments={"path": path, "content": step.text}
            )
            try:
                outcome = await write_file(
                    ToolContext(work_dir=work_dir), {"path": path, "content": step.text}
                )
            except ToolError as exc:
                run.steps.append(ToolStep(call=call, output=str(exc), ok=False, error=str(exc)))
                run.ok, run.reason = False, f"step {index + 1}: {exc}"
                break
            run.steps.append(ToolStep(call=call, output=outcome.output, ok=True))
    run.outputs = changed_files(before, folder_state(work_dir))
    if run.ok and not run.outputs:
        run.ok, run.reason = False, "ran, but created or changed no file"
    run.duration_ms = (time.perf_counter() - started) * 1000
    return run


def _resolved(path: str, env: dict[str, str]) -> str:
    return env.get(path[1:], path) if path.startswith("$") else path
