"""A run under solidification.

A promoted template does the task without the model: bound, run in the sandbox with a
timeout, graded; if it fails in any way, the model path runs the task in the same call
(nothing lost) and the failure counts toward demotion. Without a promoted template the
model path runs, and one candidate runs in its shadow on a separate copy of the task's
folder; N passing shadow trials in a row promote it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path

from skvm_core.agent.result import AgentStep, RunResult
from skvm_core.agent.trace import (
    HookEvent,
    RunFinished,
    RunStarted,
    Subscriber,
    ToolCallEvent,
    ToolResultEvent,
    TraceRecorder,
)
from skvm_core.jit.bind import Binding, bind
from skvm_core.jit.candidates import ranked, refresh_candidates
from skvm_core.jit.execute import TemplateRun, run_template
from skvm_core.jit.model import TemplateRecord, Trial
from skvm_core.jit.store import JitStore
from skvm_core.jit.trials import DEMOTE_AFTER, SHADOW_RUNS, record_trial
from skvm_core.run.graders import evaluate
from skvm_core.run.runner import (
    RUNNING_MARK,
    TaskRun,
    prepare_work_dir,
    run_setup_script,
    run_task,
)
from skvm_core.run.task import Task
from skvm_core.skill import Skill
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.workspace import Workspace


async def run_solidified(
    task: Task,
    model: str,
    *,
    skill: Skill,
    workspace: Workspace,
    subscribers: list[Subscriber] | None = None,
    label: str | None = None,
    judge_model: str | None = None,
    sampling: dict | None = None,
    protocol: str = "auto",
    shadow_runs: int = SHADOW_RUNS,
    demote_after: int = DEMOTE_AFTER,
) -> TaskRun:
    store = JitStore(workspace)
    await asyncio.to_thread(refresh_candidates, store, skill, model, workspace)
    state = store.load(skill.name, model)
    fallback: dict = {}
    # The promoted template most like this task that binds to it does the task; one that
    # ran and failed ends the search (the model path takes over).
    for record in ranked(state.live("promoted"), task.prompt)[:3]:
        outcome, fallback = await _use_promoted(
            record, task, model, skill, workspace, subscribers, label, judge_model, demote_after
        )
        if outcome is not None:
            return outcome
        if fallback.get("outcome") == "fell back":
            break
    model_run = await run_task(
        task,
        model,
        skill=skill,
        use_task_skill=False,
        workspace=workspace,
        subscribers=subscribers,
        label=label,
        judge_model=judge_model,
        sampling=sampling,
        protocol=protocol,
        keep=True,
    )
    info = fallback or {"outcome": "model"}
    shadows = ranked(state.live("candidate", "shadow"), task.prompt)
    if shadows:
        info["shadow"] = await _shadow(
            shadows,
            task,
            model,
            skill,
            workspace,
            model_run,
            judge_model,
            shadow_runs,
            demote_after,
        )
    shutil.rmtree(model_run.run.work_dir, ignore_errors=True)
    model_run.run.extra["solidified"] = info
    atomic_write_text(
        model_run.run_dir / "result.json", json.dumps(model_run.model_dump(mode="json"), indent=2)
    )
    return model_run


async def _use_promoted(
    record: TemplateRecord,
    task: Task,
    model: str,
    skill: Skill,
    workspace: Workspace,
    subscribers,
    label,
    judge_model,
    demote_after: int,
) -> tuple[TaskRun | None, dict]:
    template = record.template
    run_id = workspace.new_run_id((label or task.id) + "-jit")
    run_dir = workspace.run_dir(run_id)
    work_dir = run_dir / "work"
    atomic_write_text(run_dir / RUNNING_MARK, str(os.getpid()))
    prepare_work_dir(task, work_dir)
    setup_note = await run_setup_script(task, work_dir)
    started = time.perf_counter()
    binding = await bind(template, task.prompt, work_dir, model)
    if not binding.ok:
        # The template does not fit this task: not its failure, the model path runs.
        shutil.rmtree(run_dir, ignore_errors=True)
        return None, {"outcome": "model", "template": template.id, "unbound": binding.problem}
    recorder = TraceRecorder(run_id, run_dir / "trace.jsonl", subscribers)
    executed = await _traced_template(recorder, record, binding, task, model, skill, work_dir)
    result = _run_result(run_id, model, executed, binding, work_dir, run_dir, started)
    score = await evaluate(task, result, judge_model=judge_model)
    passed = executed.ok and score.passed
    reason = executed.reason or ("" if score.passed else _score_reason(score))
    _finish_trace(recorder, result, passed, reason)
    record_trial(
        workspace,
        skill.name,
        model,
        template.id,
        _trial(run_id, task, "promoted", passed, reason, binding, executed),
        demote_after=demote_after,
    )
    if not passed:
        (run_dir / RUNNING_MARK).unlink(missing_ok=True)
        shutil.rmtree(work_dir, ignore_errors=True)
        return None, {
            "outcome": "fell back",
            "template": template.id,
            "reason": reason,
            "attempt_run": run_id,
        }
    result.extra["solidified"] = {
        "outcome": "template",
        "template": template.id,
        "bound": binding.values,
        "bound_by": binding.by,
        "template_ms": executed.duration_ms,
    }
    outcome = TaskRun(
        task_id=task.id,
        run=result,
        score=score,
        run_dir=run_dir,
        setup_note=setup_note,
        files_written=len(executed.outputs),
    )
    atomic_write_text(
        run_dir / "result.json", json.dumps(outcome.model_dump(mode="json"), indent=2)
    )
    shutil.rmtree(work_dir, ignore_errors=True)
    (run_dir / RUNNING_MARK).unlink(missing_ok=True)
    return outcome, {}


def _trial(
    run_id: str,
    task: Task,
    mode: str,
    ok: bool,
    reason: str,
    binding: Binding,
    executed: TemplateRun,
) -> Trial:
    return Trial(
        run_id=run_id,
        task_id=task.id,
        prompt=task.prompt,
        mode=mode,
        ok=ok,
        reason=reason,
        bound=binding.values,
        bound_by=binding.by,
        duration_ms=executed.duration_ms,
        outputs=executed.outputs,
        at=time.time(),
    )


async def _traced_template(
    recorder: TraceRecorder,
    record: TemplateRecord,
    binding: Binding,
    task: Task,
    model: str,
    skill: Skill,
    work_dir: Path,
) -> TemplateRun:
    template = record.template
    recorder.emit(
        RunStarted(
            run_id=recorder.run_id,
            model=model,
            prompt=task.prompt,
            work_dir=str(work_dir),
            skill=skill.name,
            protocol="solidified",
            protocol_reason=f"template {template.id} ({record.status}, from {template.source})",
        )
    )
    bound = ", ".join(f"{k}={v!r} ({binding.by.get(k, '?')})" for k, v in binding.values.items())
    recorder.emit(HookEvent(run_id=recorder.run_id, hook="solidified", detail=f"bound {bound}"))
    executed = await run_template(template, binding.values, work_dir, skill)
    for step in executed.steps:
        recorder.emit(
            ToolCallEvent(
                run_id=recorder.run_id,
                call_id=step.call.id,
                name=step.call.name,
                arguments=step.call.arguments,
            )
        )
        recorder.emit(
            ToolResultEvent(
                run_id=recorder.run_id,
                call_id=step.call.id,
                name=step.call.name,
                output=step.output,
                ok=step.ok,
                exit_code=step.exit_code,
                duration_ms=step.duration_ms,
            )
        )
    return executed


def _run_result(
    run_id: str,
    model: str,
    executed: TemplateRun,
    binding: Binding,
    work_dir: Path,
    run_dir: Path,
    started: float,
) -> RunResult:
    return RunResult(
        run_id=run_id,
        model=model,
        status="ok",
        steps=[AgentStep(index=0, tools=executed.steps, usage=binding.usage, source="hook")],
        usage=binding.usage,
        cost_usd=binding.cost_usd,
        wall_ms=(time.perf_counter() - started) * 1000,
        model_ms=binding.model_ms,
        work_dir=work_dir,
        trace_path=run_dir / "trace.jsonl",
        protocol="solidified",
        files_written=len(executed.outputs),
    )


def _finish_trace(recorder: TraceRecorder, result: RunResult, passed: bool, reason: str) -> None:
    recorder.emit(
        RunFinished(
            run_id=recorder.run_id,
            status="ok",
            detail="" if passed else f"template failed: {reason}",
            final_text="done by the template" if passed else "",
            steps=1,
            usage=result.usage,
            cost_usd=result.cost_usd,
            wall_ms=result.wall_ms,
            model_ms=result.model_ms,
        )
    )
    recorder.close()


def _score_reason(score) -> str:
    failed = [r for r in score.results if r.score < 1.0]
    if not failed:
        return f"score {score.score:.2f} below the pass mark"
    first = failed[0]
    return f"grader: {first.criterion}: {first.details[:200]}"


async def _shadow(
    shadows: list[TemplateRecord],
    task: Task,
    model: str,
    skill: Skill,
    workspace: Workspace,
    model_run: TaskRun,
    judge_model: str | None,
    shadow_runs: int,
    demote_after: int,
) -> dict:
    """One shadow trial: the first candidate that binds runs on its own copy of the task's
    folder and is graded as the model path was."""
    folder = model_run.run_dir / "shadow"
    for record in shadows[:3]:
        shutil.rmtree(folder, ignore_errors=True)
        prepare_work_dir(task, folder)
        await run_setup_script(task, folder)
        binding = await bind(record.template, task.prompt, folder, model)
        if not binding.ok:
            continue
        executed = await run_template(record.template, binding.values, folder, skill)
        ok, reason = executed.ok, executed.reason
        if ok:
            ok, reason = await _judge_shadow(task, model_run, executed, folder, judge_model)
        trial = _trial(model_run.run.run_id, task, "shadow", ok, reason, binding, executed)
        status = record_trial(
            workspace,
            skill.name,
            model,
            record.template.id,
            trial,
            shadow_runs=shadow_runs,
            demote_after=demote_after,
        )
        shutil.rmtree(folder, ignore_errors=True)
        return {"template": record.template.id, "ok": ok, "reason": reason, "status": status}
    shutil.rmtree(folder, ignore_errors=True)
    return {"template": None, "reason": "no candidate could be bound to this task"}


async def _judge_shadow(
    task: Task, model_run: TaskRun, executed: TemplateRun, folder: Path, judge_model: str | None
) -> tuple[bool, str]:
    """By the task's grader; a task without one is judged by the model path's outputs,
    when the model path passed."""
    if task.eval:
        shadow = model_run.run.model_copy(update={"work_dir": folder, "status": "ok"})
        score = await evaluate(task, shadow, judge_model=judge_model)
        return score.passed, "" if score.passed else _score_reason(score)
    if not model_run.score.passed:
        return False, "no grader, and the model path did not pass to compare with"
    for name in executed.outputs:
        theirs = model_run.run.work_dir / name
        if not theirs.is_file() or theirs.read_bytes() != (folder / name).read_bytes():
            return False, f"{name} differs from the model path's"
    return True, ""
