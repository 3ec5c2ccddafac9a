"""The bench matrix: tasks × targets × conditions × repeats, resumable.

Each finished run is written at once (atomically) under the session folder, so a killed
bench resumes without repeating finished runs. Runs for one target share a queue (one
worker per target by default, since a local model serves one request at a time); the
targets run side by side up to the global concurrency.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from skvm_core.bench.conditions import (
    ConditionContext,
    condition_label,
    is_runtime_condition,
    resolve_condition,
    split_execution,
    split_harness,
    split_protocol,
    with_harness,
)
from skvm_core.errors import SkvmError
from skvm_core.executors import Executor, WorkerLost, call_with_retry, make_executor, resources_for
from skvm_core.llm.models import provider_of
from skvm_core.llm.types import Usage
from skvm_core.profile.runner import slug
from skvm_core.profile.store import profile_for_protocol
from skvm_core.profile.tcp import TCP
from skvm_core.run.runner import mark_interrupted_runs, run_task
from skvm_core.run.task import Task, load_task
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.workspace import Workspace


class BenchPlan(BaseModel):
    session: str
    tasks: list[str]  # task folders
    targets: list[str]
    conditions: list[str] = Field(default_factory=lambda: ["no-skill", "original", "compiled"])
    runs: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=2, ge=1, le=64)
    per_target: int = Field(default=1, ge=1, le=64)
    passes: list[str] | None = None
    judge_model: str | None = None
    # Repeats must be able to differ: sampled at this temperature, with the run index as
    # the seed, so the bench is reproducible and pass@k means something.
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    # How targets act (see agent/protocols); a condition may override it with `@<protocol>`.
    protocol: str = "auto"
    # Whether a per-item step fans out into sub-runs (auto, off or a limit); a condition
    # may override it with `@serial` or `@parallel`.
    parallel: str = "off"
    per_provider: int = Field(default=8, ge=1, le=256)
    # Runs per task of each runtime condition (solidified) before the measured ones: they
    # let the runtime learn, and are reported apart, never averaged with measured runs.
    warmup: int = Field(default=0, ge=0, le=20)
    # Task folders the warm-up runs on instead of the measured tasks: the runtime then
    # learns on one set and is measured on another it never saw (the honest comparison).
    warmup_tasks: list[str] = Field(default_factory=list)
    # Agent harnesses every condition runs in: `bare` (ours), `opencode`, `codex`. A run in
    # an external harness is labelled `<condition>+<harness>`.
    harnesses: list[str] = Field(default_factory=lambda: ["bare"])

    def matrix_conditions(self) -> list[str]:
        return [with_harness(c, h) for h in self.harnesses for c in self.conditions]


class RunSpec(BaseModel):
    """Everything one run needs, as data: what an executor ships to wherever it runs."""

    task_path: str
    target: str
    condition: str
    index: int
    workspace: str
    tcp: TCP | None = None  # the target's profile, resolved by the caller
    passes: list[str] | None = None
    judge_model: str | None = None
    temperature: float = 0.7
    protocol: str = "auto"
    parallel: str = "off"
    warmup: bool = False


class RunRecord(BaseModel):
    task_id: str
    target: str
    condition: str
    run: int
    status: str
    score: float = 0.0
    passed: bool = False
    skipped: bool = False  # every criterion was an infrastructure skip
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0
    wall_ms: float = 0.0
    model_ms: float = 0.0
    trace: str | None = None
    error: str | None = None
    judge_usage: Usage = Field(default_factory=Usage)  # counted apart from the task's tokens
    protocol: str = ""
    parse_failures: int = 0
    format_repairs: int = 0
    # The protocol's instructions and worked example, per request (None: not recorded).
    example_tokens: int | None = None
    # Files the run created or changed in its work folder; a run that ends with an answer
    # and wrote nothing ended in prose.
    files_written: int = 0
    # The run ended with the model's own answer (not a loop, step limit or crash).
    answered: bool = False
    # Workers lost before this run completed (a retry ran it again elsewhere).
    worker_retries: int = 0
    warmup: bool = False  # a runtime condition's warm-up run: reported apart
    # Under solidification: "template" (done without the model), "fell back" (a promoted
    # template failed, the model did the task), "model"; and the shadow trial's outcome.
    solidified: str = ""
    shadow: str = ""
    harness: str = "bare"
    synthetic: bool = False  # the task was built from the skill's contract: reported apart
    # The skill's body reached the model (None: no skill, or not recorded). Injected, it always
    # does; in a harness or in discover mode the model has to load it.
    skill_loaded: bool | None = None

    @property
    def prose_end(self) -> bool:
        """Ended with an answer while nothing was written: described, not done."""
        return self.answered and self.files_written == 0

    @property
    def tainted(self) -> bool:
        """Timed out, crashed or infrastructure error: listed, never averaged."""
        return self.status != "ok" or self.error is not None


ProgressFn = Callable[[RunRecord, int, int], None]


def new_session_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def session_dir(workspace: Workspace, session: str) -> Path:
    from skvm_core.store.names import checked_id

    return workspace.root / "bench" / checked_id(session, "bench session id")


def record_path(
    folder: Path, task_id: str, target: str, condition: str, run: int, warmup: bool = False
) -> Path:
    from skvm_core.store.names import component

    # Names from a plan file are data: none of them may climb out of the session.
    return (
        folder
        / "runs"
        / component(task_id)
        / slug(target)
        / component(condition_label(condition).replace(":", "_").replace("/", "_"))
        / (f"warmup-{int(run)}.json" if warmup else f"run-{int(run)}.json")
    )


class Bench:
    def __init__(
        self,
        plan: BenchPlan,
        workspace: Workspace,
        progress: ProgressFn | None = None,
        profile_loader: Callable[[str], object] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.plan = plan
        # Where runs execute (this process by default, or a Ray cluster); the records are
        # the same either way.
        self.executor = executor or make_executor("local")
        self.workspace = workspace
        self.progress = progress
        self.folder = session_dir(workspace, plan.session)
        self.executed = 0
        self.reused = 0
        self._done = 0
        self.tasks: list[Task] = [load_task(path) for path in plan.tasks]
        self.learning: list[Task] = [load_task(path) for path in plan.warmup_tasks]
        seen: dict[str, str] = {}
        every = plan.tasks + plan.warmup_tasks
        for task, path in zip(self.tasks + self.learning, every, strict=True):
            if task.id in seen:
                raise SkvmError(
                    f"two tasks have the id {task.id!r} ({seen[task.id]} and {path}); their runs would overwrite each other",
                    hint="give every task in a bench its own id",
                )
            seen[task.id] = path
        self.paths = {
            task.id: path for task, path in zip(self.tasks + self.learning, every, strict=True)
        }
        for condition in plan.matrix_conditions():
            resolve_condition(condition)  # an unknown condition fails here, before any run
            if split_harness(condition)[1] != "bare" and is_runtime_condition(condition):
                raise SkvmError(
                    f"{condition}: solidified runs use our own agent's runtime",
                    hint="bench the solidified condition in the bare harness only",
                )
        self._profiles: dict[str, object] = {}
        # The workbench passes its own loader (it may pin a profile file per target).
        self._load_profile = profile_loader or (
            lambda target: profile_for_protocol(target, plan.protocol, workspace)
        )

    def profile_for(self, target: str):
        if target not in self._profiles:
            self._profiles[target] = self._load_profile(target)
        return self._profiles[target]

    def cells(self) -> list[tuple[Task, str, str, int]]:
        return [
            (t, target, c, r)
            for target in self.plan.targets
            for t in self.tasks
            for c in self.plan.matrix_conditions()
            for r in range(self.plan.runs)
        ]

    def warmup_cells(self) -> list[tuple[Task, str, str, int]]:
        return [
            (t, target, c, r)
            for r in range(self.plan.warmup)
            for target in self.plan.targets
            for t in self.learning or self.tasks
            for c in self.plan.matrix_conditions()
            if is_runtime_condition(c)
        ]

    async def run(self) -> list[RunRecord]:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.interrupted = mark_interrupted_runs(self.workspace)
        atomic_write_text(self.folder / "plan.json", self.plan.model_dump_json(indent=2))
        cells = self.cells()
        warmups = self.warmup_cells()
        self._total = len(cells) + len(warmups)
        overall = asyncio.Semaphore(self.plan.concurrency)
        per_target = {t: asyncio.Semaphore(self.plan.per_target) for t in self.plan.targets}
        # API models are limited per provider (their rate limits), wherever the runs go.
        providers = {t: provider_of(t) for t in self.plan.targets}
        per_provider = {p: asyncio.Semaphore(self.plan.per_provider) for p in providers.values()}

        async def one(
            task: Task, target: str, condition: str, index: int, warmup: bool = False
        ) -> RunRecord:
            path = record_path(self.folder, task.id, target, condition, index, warmup)
            if path.is_file():
                record = RunRecord.model_validate_json(path.read_text("utf-8"))
                self.reused += 1
            else:
                async with per_target[target], per_provider[providers[target]], overall:
                    record = await self._execute(task.id, target, condition, index, warmup)
                atomic_write_text(path, record.model_dump_json(indent=2))
                self.executed += 1
            self._done += 1
            if self.progress:
                self.progress(record, self._done, self._total)
            return record

        # Warm-up first, so measured runs see what the runtime learned from it.
        warmed = await asyncio.gather(*(one(*cell, warmup=True) for cell in warmups))
        return list(warmed) + list(await asyncio.gather(*(one(*cell) for cell in cells)))

    async def _execute(
        self, task_id: str, target: str, condition: str, index: int, warmup: bool = False
    ) -> RunRecord:
        try:
            tcp = self.profile_for(target)
        except SkvmError:
            tcp = None  # only the compiled conditions need it; they report it missing
        spec = RunSpec(
            task_path=self.paths[task_id],
            target=target,
            condition=condition,
            index=index,
            workspace=str(self.workspace.root),
            tcp=tcp,
            passes=self.plan.passes,
            judge_model=self.plan.judge_model,
            temperature=self.plan.temperature,
            protocol=self.plan.protocol,
            parallel=self.plan.parallel,
            warmup=warmup,
        )
        try:
            record, lost = await call_with_retry(
                self.executor, execute_run, spec, resources=resources_for(target)
            )
        except WorkerLost as exc:
            synthetic = any(t.synthetic for t in self.tasks + self.learning if t.id == task_id)
            return _base_record(spec, task_id).model_copy(
                update={
                    "status": "infra-error",
                    "error": f"worker lost twice: {exc}",
                    "synthetic": synthetic,
                }
            )
        return record.model_copy(update={"worker_retries": lost}) if lost else record


def _base_record(spec: RunSpec, task_id: str) -> RunRecord:
    return RunRecord(
        task_id=task_id,
        target=spec.target,
        condition=condition_label(spec.condition),
        run=spec.index,
        status="crashed",
        warmup=spec.warmup,
    )


async def execute_run(spec: RunSpec) -> RunRecord:
    """One run of the matrix, wherever an executor runs it (module level, data in and out)."""
    task = load_task(spec.task_path)
    workspace = Workspace(Path(spec.workspace))
    target, condition, index = spec.target, spec.condition, spec.index

    def profile_for(name: str):
        if spec.tcp is None:
            return profile_for_protocol(name, spec.protocol, workspace)
        return spec.tcp

    context = ConditionContext(workspace=workspace, profile_for=profile_for, passes=spec.passes)
    base = _base_record(spec, task.id)
    base.synthetic = task.synthetic
    try:
        _, protocol = split_protocol(condition)
        _, harness = split_harness(condition)
        # The variant is compiled for the model in the harness it runs in (`model+harness`).
        skill = await asyncio.to_thread(
            resolve_condition(condition), task, with_harness(target, harness), context
        )
        options = {
            "workspace": workspace,
            "label": f"{task.id}-{condition_label(condition)}-{'w' if spec.warmup else ''}{index}",
            "judge_model": spec.judge_model,
            # Warm-up runs are seeded apart from the measured runs they precede.
            "sampling": {
                "temperature": spec.temperature,
                "seed": index + (1000 if spec.warmup else 0),
            },
            "protocol": protocol or spec.protocol,
        }
        _, execution = split_execution(split_harness(condition)[0])
        parallel = execution or spec.parallel
        if is_runtime_condition(condition):
            from skvm_core.jit.runtime import run_solidified

            if skill is None:
                raise SkvmError(f"task {task.id} names no skill to solidify")
            outcome = await run_solidified(task, target, skill=skill, **options)
        else:
            outcome = await run_task(
                task,
                target,
                skill=skill,
                use_task_skill=False,
                harness=harness,
                parallel=parallel,
                **options,
            )
    except SkvmError as exc:
        base.error = str(exc)
        return base
    run, score = outcome.run, outcome.score
    return base.model_copy(
        update={
            "status": run.status,
            "score": score.score,
            "passed": score.passed,
            "skipped": score.skipped,
            "usage": run.usage,
            "cost_usd": run.cost_usd,
            "wall_ms": run.wall_ms,
            "model_ms": run.model_ms,
            "trace": str(run.trace_path) if run.trace_path else None,
            "judge_usage": sum((r.judge_usage for r in score.results if r.judge_usage), Usage()),
            "protocol": run.protocol,
            "harness": harness,
            "parse_failures": run.parse_failures,
            "format_repairs": run.format_repairs,
            "example_tokens": run.example_tokens if harness == "bare" else None,
            "files_written": outcome.files_written,
            "answered": run.status == "ok" and not run.status_detail,
            "solidified": str(run.extra.get("solidified", {}).get("outcome", "")),
            "shadow": _shadow_outcome(run.extra.get("solidified", {}).get("shadow")),
            "skill_loaded": _skill_loaded(run, skill),
        }
    )


def _skill_loaded(run, skill) -> bool | None:
    """Our agent knows whether it delivered the body; an external harness's run shows it
    in its converted steps: a call that asked for the skill and got its body back."""
    if skill is None:
        return None
    if run.skill_loaded is not None:
        return run.skill_loaded
    from skvm_core.bench.triggers import body_snippet, names_skill

    snippet = body_snippet(skill)
    return any(
        names_skill(tool.call.name, tool.call.arguments, skill.name) and snippet in tool.output
        for step in run.steps
        for tool in step.tools
    )


def _shadow_outcome(shadow: dict | None) -> str:
    if not shadow or not shadow.get("template"):
        return ""
    return "pass" if shadow.get("ok") else "fail"
