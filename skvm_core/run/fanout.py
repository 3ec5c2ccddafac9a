"""Data-level parallelism at run time: a per-item step done as one sub-run per item.

The compiler's workflow DAG marks a step that repeats one operation over many items (DLP).
A target that does not batch calls works through such a step one item per model turn, in
one context that grows with every item: slow on an API model, past a small model's
attention. Here the run instead splits: each item gets its own sub-run, with the task's
prompt, a copy of the work folder that holds only that item among its siblings, and its own
small context. Sub-runs run concurrently up to a limit, a failed one is retried once and
then reported, and what they wrote is merged back (`merge.py`) only when all are done, so an
interrupted fan-out leaves the work folder as it was.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from skvm_core.agent.folder import changed_files, folder_state
from skvm_core.agent.result import AgentStep, RunLimits, RunResult, SkillMode
from skvm_core.agent.trace import (
    FanOutEvent,
    HookEvent,
    RunFinished,
    RunStarted,
    SubRunEvent,
    Subscriber,
    TraceRecorder,
)
from skvm_core.errors import SkvmError
from skvm_core.llm.types import Usage
from skvm_core.run.merge import MergeConflict, MergeRule, merge_files
from skvm_core.skill import Skill

Parallel = Literal["auto", "off"] | int
MIN_ITEMS = 3  # below this, one context holds the items as well as several would
API_LIMIT = 16  # hosted APIs take this many concurrent requests without throttling
LOCAL_LIMIT = 2  # one in-process model decodes one sequence at a time
SUMMED = re.compile(r"\b(sum|summed|add (?:them|it) up|grand total|combined|overall)\b", re.I)
FOLDER_TOKEN = re.compile(r"(?<![\w/.-])([\w.-]+)/(?=[\s`'\",.;:!?)]|$)")
EXTENSION = re.compile(r"(?<![\w/])\*?\.([a-z0-9]{1,5})\b", re.I)


class FanOutPlan(BaseModel):
    step_text: str
    lines: tuple[int, int]
    folder: str  # the items' folder, relative to the work folder ("" for the folder itself)
    items: list[str]  # relative paths, sorted
    limit: int
    merge: MergeRule
    reason: str


def parse_parallel(value: str | int | None) -> Parallel:
    """`auto`, `off` or a positive limit, from a flag or a config value."""
    if value is None or value == "":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool):
        chosen = value
    elif str(value).strip().lower() in ("auto", "off"):
        return str(value).strip().lower()  # type: ignore[return-value]
    else:
        try:
            chosen = int(str(value))
        except ValueError:
            chosen = 0
    if chosen < 1:
        raise SkvmError(
            f"--parallel {value!r} is not a choice",
            hint="use auto, off or a number of sub-runs ≥ 1",
        )
    return chosen


def _item_files(folder: Path, extension: str | None) -> list[Path]:
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.is_symlink() and not p.name.startswith((".", "_"))
    )
    if extension:
        files = [p for p in files if p.suffix.lower() == f".{extension.lower()}"]
    return files


def find_items(step_text: str, prompt: str, work_dir: Path) -> tuple[str, list[str]] | None:
    """The folder and files a per-item step runs over: a folder the step or the prompt
    names that holds at least MIN_ITEMS files (of the extension named, when one is), else
    files of a named extension in the work folder itself."""
    extension = next(iter(EXTENSION.findall(step_text) or EXTENSION.findall(prompt)), None)
    for text in (step_text, prompt):
        for name in FOLDER_TOKEN.findall(text):
            folder = work_dir / name
            if name in (".", "..") or not folder.is_dir() or folder.is_symlink():
                continue
            files = _item_files(folder, extension) or _item_files(folder, None)
            if len(files) >= MIN_ITEMS:
                return name, [p.relative_to(work_dir).as_posix() for p in files]
    if extension:
        files = _item_files(work_dir, extension)
        if len(files) >= MIN_ITEMS:
            return "", [p.name for p in files]
    return None


def plan_fanout(
    skill: Skill | None,
    prompt: str,
    work_dir: Path,
    parallel: Parallel,
    *,
    model: str,
    capabilities: dict[str, str] | None = None,
) -> FanOutPlan | None:
    """A fan-out for this run, or None (no per-item step, too few items, or not wanted).
    `auto` fans out only for a target whose profile does not batch calls (tool.call.batch
    below L2, or unmeasured); a number forces it with that limit."""
    if parallel == "off" or skill is None:
        return None
    from skvm_core.skill.workflow import extract_workflow

    workflow = extract_workflow(skill)
    if workflow is None:
        return None
    by_id = {s.id: s for s in workflow.steps}
    per_item = [by_id[g.steps[0]] for g in workflow.groups if g.kind == "DLP"]
    if not per_item:
        return None
    batch = (capabilities or {}).get("tool.call.batch", "")
    if parallel == "auto" and batch in ("L2", "L3"):
        return None
    for step in per_item:
        found = find_items(step.text, prompt, work_dir)
        if found is None:
            continue
        folder, items = found
        later = " ".join(s.text for s in workflow.steps if s.number > step.number)
        merge: MergeRule = "sum" if SUMMED.search(later) else "concatenate"
        if parallel == "auto":
            local = model.startswith("local/")
            limit = LOCAL_LIMIT if local else API_LIMIT
            why = f"auto: tool.call.batch {batch or 'unmeasured'} (the target would take the items one turn at a time)"
        else:
            limit, why = int(parallel), f"--parallel {parallel}"
        return FanOutPlan(
            step_text=step.text,
            lines=step.lines,
            folder=folder,
            items=items,
            limit=max(1, min(limit, len(items))),
            merge=merge,
            reason=f"{why}; step {step.number} repeats one operation over {len(items)} items",
        )
    return None


def item_prompt(prompt: str, plan: FanOutPlan, item: str) -> str:
    where = f"{plan.folder}/" if plan.folder else "the work folder"
    return (
        f"{prompt}\n\n(This run handles one item: {item} is the only one of the items in "
        f"{where} here; the others are handled by runs beside this one and the results are "
        "combined afterwards. Do the whole task as asked, for this item.)"
    )


class _Item(BaseModel):
    index: int
    item: str
    attempt: int = 0
    result: RunResult | None = None
    files: dict[str, bytes] = {}

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.status == "ok" and bool(self.files)


def _item_work_dir(plan: FanOutPlan, work_dir: Path, item: str, into: Path) -> Path:
    """A copy of the work folder without the other items."""
    from skvm_core.store.beneath import copy_tree_beneath, remove_beneath

    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    copy_tree_beneath(work_dir, into, "")
    for other in plan.items:
        if other != item:
            remove_beneath(into, other)
    return into


class _Nest:
    """Hands a sub-run's live events on, its start marked with the parent run."""

    def __init__(self, parent: str, subscribers: list[Subscriber]) -> None:
        self.parent = parent
        self.subscribers = subscribers

    def __call__(self, event: Any) -> None:
        if getattr(event, "type", "") == "run_started":
            event = event.model_copy(update={"parent_run": self.parent})
        for subscriber in self.subscribers:
            subscriber(event)


async def run_fanout(
    plan: FanOutPlan,
    adapter: Any,
    model: str,
    prompt: str,
    work_dir: Path,
    skill: Skill | None,
    limits: RunLimits,
    *,
    run_id: str,
    run_dir: Path,
    subscribers: list[Subscriber] | None = None,
    protocol: Any = "auto",
    skill_mode: SkillMode = "inject",
) -> RunResult:
    """The run as one sub-run per item, merged into `work_dir`. Raises MergeConflict when
    the items' outputs do not combine (the caller then runs the task whole)."""
    live = list(subscribers or [])
    recorder = TraceRecorder(run_id, run_dir / "trace.jsonl", live)
    started = time.perf_counter()

    def emit(event: Any) -> None:
        event.t_ms = (time.perf_counter() - started) * 1000
        recorder.emit(event)

    emit(
        RunStarted(
            run_id=run_id,
            model=model,
            prompt=prompt,
            work_dir=str(work_dir),
            skill=skill.name if skill else None,
            skill_mode=skill_mode if skill else None,
            limits=limits.model_dump(mode="json"),
            protocol="fan-out",
            protocol_reason=plan.reason,
        )
    )
    emit(
        FanOutEvent(
            run_id=run_id,
            step_text=plan.step_text,
            folder=plan.folder,
            items=plan.items,
            limit=plan.limit,
            merge=plan.merge,
            reason=plan.reason,
        )
    )
    gate = asyncio.Semaphore(plan.limit)
    items = [_Item(index=i, item=item) for i, item in enumerate(plan.items)]

    async def one(entry: _Item) -> None:
        for attempt in (1, 2):  # a failed item is retried once, then reported
            entry.attempt = attempt
            async with gate:
                await _run_item(entry, attempt)
            emit(_sub_event(run_id, entry, run_dir))
            if entry.ok:
                return

    async def _run_item(entry: _Item, attempt: int) -> None:
        sub_id = f"{run_id}-i{entry.index:02d}" + (f"-r{attempt}" if attempt > 1 else "")
        sub_dir = run_dir / "sub" / sub_id.removeprefix(f"{run_id}-")
        work = _item_work_dir(plan, work_dir, entry.item, sub_dir / "work")
        before = folder_state(work)
        entry.result = await adapter.run(
            model,
            item_prompt(prompt, plan, entry.item),
            work,
            skill,
            limits,
            run_id=sub_id,
            trace_path=sub_dir / "trace.jsonl",
            subscribers=[_Nest(run_id, live)],
            protocol=protocol,
            skill_mode=skill_mode,
        )
        written = [
            path
            for path in changed_files(before, folder_state(work))
            if (work / path).is_file() and not _laid_by_harness(path, work, skill)
        ]
        entry.files = {path: (work / path).read_bytes() for path in written}

    try:
        # A task group, not gather: on a cancellation every sub-run is cancelled and
        # awaited (its processes reaped) before this run ends.
        async with asyncio.TaskGroup() as group:
            for entry in items:
                group.create_task(one(entry))
        done = [e for e in items if e.ok]
        failed = [e.item for e in items if not e.ok]
        merged = _merge(done, plan.merge)
        _write_merged(work_dir, merged, run_dir)
    except MergeConflict as exc:
        emit(
            HookEvent(
                run_id=run_id,
                hook="fan-out",
                detail=f"not merged: {exc.message}; the task runs whole",
            )
        )
        _close(recorder, emit, items, "crashed", f"fan-out not merged: {exc.message}", started)
        raise
    except asyncio.CancelledError:
        _close(recorder, emit, items, "crashed", "cancelled", started)
        raise
    status = "ok" if done else "crashed"
    detail = f"fan-out over {len(items)} items: {len(done)} ok" + (
        f", failed after a retry: {', '.join(failed)}" if failed else ""
    )
    result = _close(recorder, emit, items, status, detail, started)
    return result.model_copy(
        update={
            "work_dir": work_dir,
            "files_written": len(merged),
            "trace_path": run_dir / "trace.jsonl",
        }
    )


def _laid_by_harness(path: str, work: Path, skill: Skill | None) -> bool:
    """A file the harness put there, not the sub-run's output: its own hidden folders, or a
    skill file copied in unchanged."""
    if path.split("/", 1)[0].startswith("."):
        return True
    if skill is None:
        return False
    source = skill.root / path
    return (
        any(f.path == path for f in skill.files)
        and source.is_file()
        and (source.read_bytes() == (work / path).read_bytes())
    )


def target_capabilities(model: str, workspace: Any) -> dict[str, str]:
    """The target's measured levels, or none when it was never profiled."""
    from skvm_core.profile.store import find_profile
    from skvm_core.profile.tcp import load_tcp

    found = find_profile(model, workspace)
    if found is None:
        return {}
    try:
        return dict(load_tcp(found).capabilities)
    except SkvmError:
        return {}


def _sub_event(run_id: str, entry: _Item, run_dir: Path) -> SubRunEvent:
    result = entry.result
    return SubRunEvent(
        run_id=run_id,
        item=entry.item,
        attempt=entry.attempt,
        status="ok"
        if entry.ok
        else (result.status if result and result.status != "ok" else "wrote nothing"),
        detail=result.status_detail if result else "",
        steps=len(result.steps) if result else 0,
        wall_ms=result.wall_ms if result else 0.0,
        files=sorted(entry.files),
        trace=str(result.trace_path or "") if result else "",
    )


def _merge(done: list[_Item], rule: MergeRule) -> dict[str, bytes]:
    versions: dict[str, list[bytes]] = {}
    for entry in sorted(done, key=lambda e: e.index):
        for path, data in entry.files.items():
            versions.setdefault(path, []).append(data)
    return {path: merge_files(path, found, rule) for path, found in sorted(versions.items())}


def _write_merged(work_dir: Path, merged: dict[str, bytes], run_dir: Path) -> None:
    """Every merged file is computed before the first is written; each lands in one rename."""
    from skvm_core.store.beneath import replace_file_beneath

    for path, data in merged.items():
        replace_file_beneath(work_dir, path, data)


def _close(
    recorder: TraceRecorder,
    emit: Any,
    items: list[_Item],
    status: str,
    detail: str,
    started: float,
) -> RunResult:
    results = [e.result for e in items if e.result is not None]
    usage = sum((r.usage for r in results), Usage())
    steps: list[AgentStep] = [s for r in results for s in r.steps]
    costs = [r.cost_usd for r in results]
    wall_ms = (time.perf_counter() - started) * 1000
    model_ms = sum(r.model_ms for r in results)
    emit(
        RunFinished(
            run_id=recorder.run_id,
            status=status,  # type: ignore[arg-type]
            detail=detail,
            final_text=detail,
            steps=len(steps),
            usage=usage,
            cost_usd=None if None in costs else sum(c or 0.0 for c in costs),
            wall_ms=wall_ms,
            model_ms=model_ms,
        )
    )
    recorder.close()
    model = results[0].model if results else ""
    return RunResult(
        run_id=recorder.run_id,
        model=model,
        status=status,  # type: ignore[arg-type]
        status_detail=detail,
        final_text=detail,
        steps=steps,
        usage=usage,
        cost_usd=None if None in costs else sum(c or 0.0 for c in costs),
        wall_ms=wall_ms,
        model_ms=model_ms,
        work_dir=Path("."),
        skill_loaded=any(r.skill_loaded for r in results) if results else None,
        protocol="fan-out",
        extra={"fan_out": {"items": len(items), "ok": sum(1 for e in items if e.ok)}},
    )
