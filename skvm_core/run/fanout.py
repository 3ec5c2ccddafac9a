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
from skvm_core.agent.result import AgentStep, RunResult
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
from skvm_core.run.agent_call import AgentCall
from skvm_core.run.merge import MergeConflict, MergeRule, merge_files
from skvm_core.skill import Skill

Parallel = Literal["auto", "off"] | int
MIN_ITEMS = 3  # below this, one context holds the items as well as several would
API_LIMIT = 16  # hosted APIs take this many concurrent requests without throttling
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
    # An in-process model decodes one sequence at a time: its sub-runs pay a prompt each
    # without running side by side (measured 0.16x on the 0.5B, benchmarks/bench_parallel),
    # so `auto` leaves it serial; `--parallel N` still fans out.
    if parallel == "auto" and model.startswith("local/"):
        return None
    for step in per_item:
        found = find_items(step.text, prompt, work_dir)
        if found is None:
            continue
        folder, items = found
        later = " ".join(s.text for s in workflow.steps if s.number > step.number)
        merge: MergeRule = "sum" if SUMMED.search(later) else "concatenate"
        if parallel == "auto":
            limit = API_LIMIT
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


async def run_fanout(plan: FanOutPlan, adapter: Any, call: AgentCall, run_dir: Path) -> RunResult:
    """`call` as one sub-run per item, merged into its work folder. Raises MergeConflict
    when the items' outputs do not combine (the caller then runs the task whole)."""
    return await _FanOut(plan, adapter, call, run_dir).run()


class _FanOut:
    def __init__(self, plan: FanOutPlan, adapter: Any, call: AgentCall, run_dir: Path) -> None:
        self.plan, self.adapter, self.call, self.run_dir = plan, adapter, call, run_dir
        self.recorder = TraceRecorder(call.run_id, run_dir / "trace.jsonl", call.subscribers)
        self.started = time.perf_counter()
        self.gate = asyncio.Semaphore(plan.limit)
        self.items = [_Item(index=i, item=item) for i, item in enumerate(plan.items)]

    def emit(self, event: Any) -> None:
        event.t_ms = (time.perf_counter() - self.started) * 1000
        self.recorder.emit(event)

    async def run(self) -> RunResult:
        call, plan = self.call, self.plan
        self.emit(
            RunStarted(
                run_id=call.run_id,
                model=call.model,
                prompt=call.prompt,
                work_dir=str(call.work_dir),
                skill=call.skill.name if call.skill else None,
                skill_mode=call.skill_mode if call.skill else None,
                limits=call.limits.model_dump(mode="json"),
                protocol="fan-out",
                protocol_reason=plan.reason,
            )
        )
        self.emit(
            FanOutEvent(
                run_id=call.run_id,
                step_text=plan.step_text,
                folder=plan.folder,
                items=plan.items,
                limit=plan.limit,
                merge=plan.merge,
                reason=plan.reason,
            )
        )
        try:
            # A task group, not gather: on a cancellation every sub-run is cancelled and
            # awaited (its processes reaped) before this run ends.
            async with asyncio.TaskGroup() as group:
                for entry in self.items:
                    group.create_task(self._item(entry))
            done = [e for e in self.items if e.ok]
            merged = _merge(done, plan.merge)
            _write_merged(call.work_dir, merged)
        except MergeConflict as exc:
            detail = f"not merged: {exc.message}; the task runs whole"
            self.emit(HookEvent(run_id=call.run_id, hook="fan-out", detail=detail))
            self._close("crashed", f"fan-out not merged: {exc.message}")
            raise
        except asyncio.CancelledError:
            self._close("crashed", "cancelled")
            raise
        failed = [e.item for e in self.items if not e.ok]
        detail = f"fan-out over {len(self.items)} items: {len(done)} ok" + (
            f", failed after a retry: {', '.join(failed)}" if failed else ""
        )
        result = self._close("ok" if done else "crashed", detail)
        return result.model_copy(
            update={
                "work_dir": call.work_dir,
                "files_written": len(merged),
                "trace_path": self.run_dir / "trace.jsonl",
            }
        )

    async def _item(self, entry: _Item) -> None:
        for attempt in (1, 2):  # a failed item is retried once, then reported
            entry.attempt = attempt
            async with self.gate:
                await self._attempt(entry, attempt)
            self.emit(_sub_event(self.call.run_id, entry))
            if entry.ok:
                return

    async def _attempt(self, entry: _Item, attempt: int) -> None:
        call = self.call
        sub_id = f"{call.run_id}-i{entry.index:02d}" + (f"-r{attempt}" if attempt > 1 else "")
        sub_dir = self.run_dir / "sub" / sub_id.removeprefix(f"{call.run_id}-")
        work = _item_work_dir(self.plan, call.work_dir, entry.item, sub_dir / "work")
        before = folder_state(work)
        sub = call.but(
            prompt=item_prompt(call.prompt, self.plan, entry.item),
            work_dir=work,
            run_id=sub_id,
            subscribers=[_Nest(call.run_id, call.subscribers)],
        )
        entry.result = await sub.run(self.adapter, sub_dir / "trace.jsonl")
        written = [
            path
            for path in changed_files(before, folder_state(work))
            if (work / path).is_file() and not _laid_by_harness(path, work, call.skill)
        ]
        entry.files = {path: (work / path).read_bytes() for path in written}

    def _close(self, status: str, detail: str) -> RunResult:
        results = [e.result for e in self.items if e.result is not None]
        usage = sum((r.usage for r in results), Usage())
        steps: list[AgentStep] = [s for r in results for s in r.steps]
        costs = [r.cost_usd for r in results]
        cost = None if None in costs else sum(c or 0.0 for c in costs)
        wall_ms = (time.perf_counter() - self.started) * 1000
        model_ms = sum(r.model_ms for r in results)
        self.emit(
            RunFinished(
                run_id=self.call.run_id,
                status=status,  # type: ignore[arg-type]
                detail=detail,
                final_text=detail,
                steps=len(steps),
                usage=usage,
                cost_usd=cost,
                wall_ms=wall_ms,
                model_ms=model_ms,
            )
        )
        self.recorder.close()
        return RunResult(
            run_id=self.call.run_id,
            model=self.call.model,
            status=status,  # type: ignore[arg-type]
            status_detail=detail,
            final_text=detail,
            steps=steps,
            usage=usage,
            cost_usd=cost,
            wall_ms=wall_ms,
            model_ms=model_ms,
            work_dir=self.call.work_dir,
            skill_loaded=any(r.skill_loaded for r in results) if results else None,
            protocol="fan-out",
            extra={"fan_out": {"items": len(self.items), "ok": sum(1 for e in self.items if e.ok)}},
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


def _sub_event(run_id: str, entry: _Item) -> SubRunEvent:
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


def _write_merged(work_dir: Path, merged: dict[str, bytes]) -> None:
    """Every merged file is computed before the first is written; each lands in one rename."""
    from skvm_core.store.beneath import replace_file_beneath

    for path, data in merged.items():
        replace_file_beneath(work_dir, path, data)
