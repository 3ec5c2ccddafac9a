"""Run one task on one model: prepare the work dir, run the agent, grade, store."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from pydantic import BaseModel

from skvm_core.agent.bare import limits_for
from skvm_core.agent.protocols import ProtocolDecision
from skvm_core.agent.result import RunResult, SkillMode
from skvm_core.agent.sandbox import run_command
from skvm_core.agent.tools import ToolError, confine
from skvm_core.agent.trace import Subscriber
from skvm_core.llm.models import check_model_ready
from skvm_core.run.agent_call import AgentCall
from skvm_core.run.graders import Score, evaluate
from skvm_core.run.task import Task, TaskError
from skvm_core.skill import Skill, load_skill
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.process import process_alive
from skvm_core.store.workspace import Workspace

SETUP_SCRIPT = "_setup.sh"
RUNNING_MARK = "RUNNING"
SETUP_TIMEOUT_S = 120.0


class TaskRun(BaseModel):
    task_id: str
    run: RunResult
    score: Score
    run_dir: Path
    setup_note: str = ""
    files_written: int = 0  # files created or changed by the run in its work folder


def prepare_work_dir(task: Task, work_dir: Path) -> None:
    """Copy `fixtures/` and inline fixtures into `work_dir` (the setup script runs later)."""
    from skvm_core.store.beneath import UnsafePath, copy_tree_beneath, write_file_beneath

    work_dir.mkdir(parents=True, exist_ok=True)
    if task.fixtures_dir is not None:
        # Regular files only: a link among a task's fixtures would bring in the host
        # file behind it.
        copy_tree_beneath(task.fixtures_dir, work_dir, "", ignore=lambda name: name == SETUP_SCRIPT)
    for relative, text in task.fixtures.items():
        try:
            confine(work_dir, relative)
            write_file_beneath(work_dir, relative, text.encode("utf-8"))
        except (ToolError, UnsafePath) as exc:
            raise TaskError(f"task {task.id}: inline fixture {relative!r}: {exc}") from exc


async def run_setup_script(task: Task, work_dir: Path) -> str:
    """Run `fixtures/_setup.sh` in the sandbox; a failure is noted, as in the reference."""
    if task.fixtures_dir is None or not (task.fixtures_dir / SETUP_SCRIPT).is_file():
        return ""
    script = (task.fixtures_dir / SETUP_SCRIPT).read_text("utf-8")
    result = await run_command(script, work_dir, timeout_s=SETUP_TIMEOUT_S, output_cap=8_000)
    if result.exit_code == 0 and not result.timed_out:
        return ""
    return f"{SETUP_SCRIPT} failed (exit {result.exit_code}{', timed out' if result.timed_out else ''}): {result.stderr.strip()[-300:]}"


ENV_SETUP = ".skvm/env-setup.sh"


async def run_env_setup(skill: Skill | None, work_dir: Path, workspace: Workspace) -> str:
    """A compiled variant's environment binding, run in the sandbox before the agent starts
    (so what it provides, or fails to, is the same for every run); a failure is noted.
    Only a variant the compiler wrote into this workspace has one: a `.skvm/` folder that
    ships with a skill is the author's (or anyone's), and nothing in it is run."""
    if skill is None or not (skill.root / ENV_SETUP).is_file():
        return ""
    variants = (workspace.root / "variants").resolve()
    if variants not in skill.root.resolve().parents:
        return f"{ENV_SETUP} of a skill the compiler did not write was not run"
    script = (skill.root / ENV_SETUP).read_text("utf-8")
    result = await run_command(script, work_dir, timeout_s=SETUP_TIMEOUT_S, output_cap=8_000)
    if result.exit_code == 0 and not result.timed_out:
        return ""
    tail = (result.stderr or result.stdout).strip()[-300:]
    return f"env-setup.sh of the variant failed (exit {result.exit_code}): {tail}"


def task_skill(task: Task) -> Skill | None:
    paths = task.skill_paths()
    return load_skill(paths[0]) if paths else None


async def run_task(
    task: Task,
    model: str,
    *,
    skill: Skill | None = None,
    use_task_skill: bool = True,
    skill_mode: SkillMode = "inject",
    keep: bool = False,
    workspace: Workspace | None = None,
    subscribers: list[Subscriber] | None = None,
    label: str | None = None,
    judge_model: str | None = None,
    sampling: dict | None = None,
    protocol: str | ProtocolDecision = "auto",
    harness: str = "bare",
    inputs: Path | None = None,
    parallel: str | int = "off",
) -> TaskRun:
    """`sampling` overrides the target's default temperature/seed (the bench sets both);
    `harness` names the agent the task runs in (our own, or an external CLI); `inputs` is a
    folder copied into the work folder after the fixtures (a run on the user's own files);
    `parallel` (auto, off or a limit) lets a per-item step fan out into sub-runs."""
    from skvm_core.harness import get_harness

    adapter = get_harness(harness)
    if not task.host_ready:
        raise TaskError(
            f"task {task.id} needs an environment this host does not provide (hostReady is false)"
        )
    check_model_ready(model)
    workspace = workspace or Workspace.default()
    if skill is None and use_task_skill:
        skill = task_skill(task)
    run_id = workspace.new_run_id(label or task.id)
    run_dir = workspace.run_dir(run_id)
    work_dir = run_dir / "work"
    run_dir.mkdir(parents=True, exist_ok=True)
    # Present while the run is under way: a run killed with its process is found later.
    atomic_write_text(run_dir / RUNNING_MARK, str(os.getpid()))
    prepare_work_dir(task, work_dir)
    if inputs is not None:
        from skvm_core.store.beneath import copy_tree_beneath

        copy_tree_beneath(inputs, work_dir, "")
    setup_note = await run_setup_script(task, work_dir)
    env_note = await run_env_setup(skill, work_dir, workspace)
    setup_note = "; ".join(n for n in (setup_note, env_note) if n)
    limits = limits_for(
        model,
        harness=harness,
        max_steps=task.max_steps,
        timeout_s=task.timeout_ms / 1000,
        **({"allowed_hosts": tuple(task.allowed_hosts)} if task.allowed_hosts else {}),
        **(sampling or {}),
    )
    if isinstance(protocol, str):
        from skvm_core.profile.store import target_protocol

        protocol = target_protocol(model, protocol, workspace)
    call = AgentCall(
        model=model,
        prompt=task.prompt,
        work_dir=work_dir,
        skill=skill,
        limits=limits,
        run_id=run_id,
        subscribers=list(subscribers or []),
        protocol=protocol,
        skill_mode=skill_mode,
    )
    result = await run_agent(adapter, call, run_dir, parallel=parallel, workspace=workspace)
    score = await evaluate(task, result, judge_model=judge_model)
    if not score.passed:
        _record_evidence(task, result, score, skill, run_dir)
    outcome = TaskRun(
        task_id=task.id,
        run=result,
        score=score,
        run_dir=run_dir,
        setup_note=setup_note,
        files_written=result.files_written,
    )
    atomic_write_text(
        run_dir / "result.json", json.dumps(outcome.model_dump(mode="json"), indent=2)
    )
    if not keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    (run_dir / RUNNING_MARK).unlink(missing_ok=True)
    return outcome


async def run_agent(
    adapter, call: AgentCall, run_dir: Path, *, parallel: str | int, workspace: Workspace
) -> RunResult:
    """`call` in its work folder, or its per-item step fanned out into sub-runs when the
    plan says so; outputs that do not merge fall back to the run whole (the fan-out's trace
    is kept beside it as fanout-trace.jsonl)."""
    from skvm_core.run.fanout import parse_parallel, plan_fanout, run_fanout, target_capabilities
    from skvm_core.run.merge import MergeConflict

    chosen = parse_parallel(parallel)
    plan = None
    if chosen != "off":
        capabilities = target_capabilities(call.model, workspace) if chosen == "auto" else {}
        plan = plan_fanout(
            call.skill,
            call.prompt,
            call.work_dir,
            chosen,
            model=call.model,
            capabilities=capabilities,
        )
    trace_path = run_dir / "trace.jsonl"
    if plan is not None:
        try:
            return await run_fanout(plan, adapter, call, run_dir)
        except MergeConflict:
            trace_path.replace(run_dir / "fanout-trace.jsonl")
    return await call.run(adapter, trace_path)


def _record_evidence(
    task: Task, result: RunResult, score: Score, skill: Skill | None, run_dir: Path
) -> None:
    """Why the run failed, classified, beside its result (`evidence.json`)."""
    from skvm_core.run.evidence import classify, variant_source_map, write_evidence

    text = skill.source if skill is not None else ""
    source_map = variant_source_map(skill.root) if skill is not None else []
    evidence = classify(
        task.id, result, score, result.files_written, text, source_map, prompt=task.prompt
    )
    write_evidence(run_dir, evidence)


def mark_interrupted_runs(workspace: Workspace) -> list[Path]:
    """Run folders left by a process that died mid-run: their partial work folder is
    removed and the folder is marked INTERRUPTED (its trace is kept for reading)."""
    found = []
    runs = workspace.root / "runs"
    for marker in runs.glob(f"*/{RUNNING_MARK}") if runs.is_dir() else []:
        try:
            pid = int(marker.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and process_alive(pid):
            continue
        shutil.rmtree(marker.parent / "work", ignore_errors=True)
        marker.rename(marker.parent / "INTERRUPTED")
        found.append(marker.parent)
    return found
