"""Stored bench sessions: list them, load one, and find a run's trace.

A session folder holds `plan.json` and one record per finished run (see the orchestrator);
anything there that does not parse is reported, not skipped silently, so a damaged session
is visible in the CLI and the workbench.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from skvm_core.bench.orchestrator import BenchPlan, RunRecord, session_dir
from skvm_core.errors import SkvmError
from skvm_core.store.workspace import Workspace


class SessionSummary(BaseModel):
    session: str
    folder: Path
    targets: list[str]
    conditions: list[str]
    finished: int
    expected: int
    updated: float  # mtime of the newest record, for ordering

    @property
    def complete(self) -> bool:
        return self.finished >= self.expected > 0


class SessionData(BaseModel):
    plan: BenchPlan
    records: list[RunRecord]
    problems: list[str] = []


def _plan(folder: Path) -> BenchPlan:
    path = folder / "plan.json"
    try:
        return BenchPlan.model_validate_json(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise SkvmError(
            f"bench session {folder.name} has no plan.json",
            hint="the folder is not a bench session; start one with `skvm bench`",
        ) from exc
    except (ValidationError, ValueError, OSError) as exc:
        raise SkvmError(
            f"bench session {folder.name}: plan.json is damaged ({str(exc).splitlines()[0]})",
            hint="restore it or start a new session",
        ) from exc


def expected_runs(plan: BenchPlan) -> int:
    from skvm_core.bench.conditions import is_runtime_condition

    runtime = sum(1 for c in plan.matrix_conditions() if is_runtime_condition(c))
    measured = len(plan.tasks) * len(plan.matrix_conditions()) * plan.runs
    learning = len(plan.warmup_tasks or plan.tasks) * runtime * plan.warmup
    return len(plan.targets) * (measured + learning)


def list_sessions(workspace: Workspace) -> list[SessionSummary]:
    """Every session with a readable plan, newest activity first."""
    root = workspace.root / "bench"
    found: list[SessionSummary] = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not (folder / "plan.json").is_file():
            continue
        try:
            plan = _plan(folder)
        except SkvmError:
            continue
        records = list((folder / "runs").rglob("run-*.json"))
        stamps = [p.stat().st_mtime for p in records] or [(folder / "plan.json").stat().st_mtime]
        found.append(
            SessionSummary(
                session=folder.name,
                folder=folder,
                targets=plan.targets,
                conditions=plan.conditions,
                finished=len(records),
                expected=expected_runs(plan),
                updated=max(stamps),
            )
        )
    return sorted(found, key=lambda s: s.updated, reverse=True)


def load_plan(workspace: Workspace, session: str) -> BenchPlan:
    folder = session_dir(workspace, session)
    if not folder.is_dir():
        raise SkvmError(f"no bench session {session!r}", hint="`skvm bench list` shows them")
    return _plan(folder)


def load_session(workspace: Workspace, session: str) -> SessionData:
    plan = load_plan(workspace, session)
    folder = session_dir(workspace, session)
    records: list[RunRecord] = []
    problems: list[str] = []
    runs = folder / "runs"
    for path in sorted([*runs.rglob("warmup-*.json"), *runs.rglob("run-*.json")]):
        try:
            records.append(RunRecord.model_validate_json(path.read_text("utf-8")))
        except (ValidationError, ValueError, OSError) as exc:
            problems.append(f"{path.relative_to(folder)}: {str(exc).splitlines()[0]}")
    return SessionData(plan=plan, records=records, problems=problems)


def trace_of(record: RunRecord) -> Path:
    """The run's trace file, or a clear error when the run left none."""
    if record.trace is None:
        reason = record.error or "the run stopped before the agent started"
        raise SkvmError(f"{record.task_id} run {record.run} has no trace: {reason}")
    path = Path(record.trace)
    if not path.is_file():
        raise SkvmError(
            f"the trace of {record.task_id} run {record.run} is gone ({path})",
            hint="the workspace's runs/ folder was cleaned; re-run the bench cell",
        )
    return path
