"""The workbench's access to the pipeline. No Textual here: workers call these and post
the results as messages, so the same calls are testable without a UI."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from skvm_core.store.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from skvm_core.agent.trace import Subscriber
    from skvm_core.bench.orchestrator import BenchPlan, RunRecord
    from skvm_core.bench.sessions import SessionData, SessionSummary
    from skvm_core.compile import CompileResult
    from skvm_core.jit import JitState
    from skvm_core.profile.tcp import TCP
    from skvm_core.run.folder_run import FolderRun
    from skvm_core.run.runner import TaskRun
    from skvm_core.run.task import Task
    from skvm_core.skill import Skill

# The pipeline modules are imported on first use, inside workers, to keep the first paint fast.


@dataclass
class Engine:
    workspace: Workspace
    profile_overrides: dict[str, Path] = field(default_factory=dict)
    executor: str = "local"  # where bench runs execute (the configuration's `executor`)
    parallel: str = "auto"  # fan-out of a per-item step (the configuration's, or --parallel)

    def load_skill(self, folder: Path) -> Skill:
        from skvm_core.skill import load_skill

        return load_skill(folder)

    def profile(self, target: str) -> TCP | None:
        """The target's profile as it runs: measured under the protocol its runs use (the
        heatmap and the compile then show the levels the variant meets), else the native one;
        None when it has none."""
        from skvm_core.errors import SkvmError
        from skvm_core.profile.store import find_profile, target_protocol
        from skvm_core.profile.tcp import load_tcp

        path = self.profile_overrides.get(target)
        if path is None:
            try:
                protocol = target_protocol(target, "auto", self.workspace).protocol
                path = find_profile(target, self.workspace, protocol=protocol)
            except SkvmError:
                path = None
        path = path or find_profile(target, self.workspace)
        return load_tcp(path) if path else None

    def compile(self, skill: Skill, tcp: TCP, target: str = "") -> CompileResult:
        """The static compile: at once, shown before any synthesis. A tab `model+harness`
        gets the variant written for that harness."""
        from skvm_core.compile import compile_skill
        from skvm_core.harness import split_target

        harness = split_target(target)[1] if target else "bare"
        return compile_skill(skill, tcp, cache_dir=self.workspace.compile_cache, harness=harness)

    def synthesis_model(self) -> str | None:
        from skvm_core.config import synthesis_model

        return synthesis_model()

    def wants_synthesis(self, result: CompileResult) -> bool:
        """The target needs a lowering and the skill ships no script that could be one."""
        lowering = result.artifacts.get("lower")
        from skvm_core.compile.lower import wants_lowering

        return (
            self.synthesis_model() is not None
            and lowering is not None
            and lowering.skill is None
            and lowering.synthesis is None
            and wants_lowering(result.gaps)
        )

    def compile_with_synthesis(self, skill: Skill, tcp: TCP, target: str = "") -> CompileResult:
        """The compile with a synthesised script (minutes the first time; cached by the
        contract and procedure, so most edits reuse it)."""
        from skvm_core.compile import compile_skill
        from skvm_core.harness import split_target

        return compile_skill(
            skill,
            tcp,
            synthesis_model=self.synthesis_model(),
            cache_dir=self.workspace.compile_cache,
            harness=split_target(target)[1] if target else "bare",
        )

    def variant_skill(self, result: CompileResult, target: str | None = None) -> Skill:
        """What a run on the target uses: an accepted proposal's variant, else the compiler's."""
        from skvm_core.compile.accepted import variant_folder
        from skvm_core.harness import split_target
        from skvm_core.skill import load_skill

        model = split_target(target)[0] if target else result.tcp.model
        return load_skill(variant_folder(result.skill.name, model, self.workspace, lambda: result))

    def tasks_for(self, skill: Skill) -> list[Task]:
        """Tasks that name this skill: beside it, inside it, or in the workspace."""
        from skvm_core.run.authoring import tasks_for_skill

        return tasks_for_skill(skill, self.workspace)

    def new_task_folder(self, skill: Skill) -> Path:
        from skvm_core.run.authoring import new_task_folder

        return new_task_folder(skill, self.workspace)

    def write_task(
        self,
        skill: Skill,
        *,
        prompt: str,
        checks: list,
        files: list[Path],
        files_root: Path | None,
    ) -> Path:
        """A task folder from the new-task form (where `tasks_for` finds it again)."""
        from skvm_core.run.authoring import write_new_task

        return write_new_task(
            skill, self.workspace, prompt=prompt, checks=checks, files=files, files_root=files_root
        )

    def check_task(self, folder: Path) -> list[str]:
        from skvm_core.run.authoring import check_task

        return check_task(folder)

    def task_id_at(self, folder: Path) -> str:
        from skvm_core.run.task import load_task

        return load_task(folder).id

    async def run(
        self,
        task: Task,
        target: str,
        skill: Skill | None,
        subscriber: Subscriber,
        *,
        solidify: bool = False,
    ) -> TaskRun:
        # litellm takes seconds to import: do it off the event loop so the UI stays live.
        from skvm_core.harness import split_target
        from skvm_core.llm import preload
        from skvm_core.run.runner import run_task

        await asyncio.to_thread(preload)
        model, harness = split_target(target)  # a tab may be a model in an external harness
        options = {"workspace": self.workspace, "subscribers": [subscriber], "label": task.id}
        if solidify and skill is not None and harness == "bare":
            from skvm_core.jit.runtime import run_solidified

            return await run_solidified(task, model, skill=skill, **options)
        return await run_task(
            task, model, skill=skill, harness=harness, parallel=self.parallel, **options
        )

    async def run_folder(
        self, prompt: str, folder: Path, target: str, skill: Skill | None, subscriber: Subscriber
    ) -> FolderRun:
        """An ungraded run on a copy of the user's folder (see `run.folder_run`)."""
        from skvm_core.harness import split_target
        from skvm_core.llm import preload
        from skvm_core.run.folder_run import run_on_folder

        await asyncio.to_thread(preload)
        model, harness = split_target(target)
        return await run_on_folder(
            prompt,
            model,
            folder,
            skill=skill,
            workspace=self.workspace,
            subscribers=[subscriber],
            harness=harness,
            parallel=self.parallel,
        )

    def save_run_as_task(self, run: FolderRun, skill: Skill) -> Path:
        from skvm_core.run.folder_run import save_as_task

        return save_as_task(run, skill, self.workspace)

    def jit_state(self, skill_name: str, target: str) -> JitState:
        from skvm_core.harness import split_target
        from skvm_core.jit import JitStore

        return JitStore(self.workspace).load(skill_name, split_target(target)[0])

    # --- proposals ------------------------------------------------------------------
    def proposals(self) -> tuple[list, dict[str, tuple[str, str]]]:
        """Every proposal, newest first, with its current and proposed SKILL.md."""
        from skvm_core.optimize.proposals import ProposalStore

        store = ProposalStore(self.workspace)
        found = sorted(store.all(), key=lambda p: p.created, reverse=True)
        texts = {}
        for proposal in found:
            try:
                texts[proposal.id] = (proposal.base_text, store.variant_text(proposal))
            except OSError:
                texts[proposal.id] = (proposal.base_text, "")
        return found, texts

    def decide(self, proposal_id: str, accept: bool) -> str:
        from skvm_core.optimize.proposals import ProposalStore

        store = ProposalStore(self.workspace)
        if accept:
            number = store.accept(proposal_id)
            return f"accepted: version {number} is now the target's variant"
        store.reject(proposal_id)
        return "rejected"

    def evidence_record(self, run_id: str) -> RunRecord:
        """A stored run as a bench record, so the trace screen can show it."""
        from skvm_core.bench.orchestrator import RunRecord
        from skvm_core.errors import SkvmError
        from skvm_core.run.runner import TaskRun

        run_dir = self.workspace.runs / run_id
        try:
            outcome = TaskRun.model_validate_json((run_dir / "result.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise SkvmError(f"run {run_id} has no readable result ({exc})") from exc
        return RunRecord(
            task_id=outcome.task_id,
            target=outcome.run.model,
            condition="evidence",
            run=0,
            status=outcome.run.status,
            score=outcome.score.score,
            passed=outcome.score.passed,
            usage=outcome.run.usage,
            wall_ms=outcome.run.wall_ms,
            trace=str(run_dir / "trace.jsonl"),
        )

    def propose_fix(
        self, skill: Skill, target: str, variant: Skill, outcome: TaskRun
    ) -> tuple[str, list[str]]:
        """A proposal from the repair rules for the last run's failures (not measured yet)."""
        import time

        from skvm_core.errors import SkvmError
        from skvm_core.optimize.proposals import Proposal, ProposalStore, RepairNote
        from skvm_core.optimize.repairs import deterministic_repairs
        from skvm_core.run.evidence import classify, write_evidence

        text = (variant.root / "SKILL.md").read_text("utf-8")
        evidence = classify(
            outcome.task_id, outcome.run, outcome.score, outcome.files_written, text
        )
        write_evidence(outcome.run_dir, evidence)
        repairs = deterministic_repairs(text, [evidence])
        if not repairs:
            kinds = ", ".join(evidence.kinds) or "none found"
            raise SkvmError(
                f"no repair rule applies to this run's failures ({kinds})",
                hint="`skvm optimize --proposer MODEL` can ask a model for a rewrite",
            )
        store = ProposalStore(self.workspace)
        proposal = Proposal(
            id=store.new_id(skill.name),
            skill=skill.name,
            target=target,
            created=time.time(),
            source="workbench",
            repairs=[RepairNote.of(r) for r in repairs],
            evidence_runs=[outcome.run.run_id],
            base_text=text,
        )
        import shutil
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "variant"
            shutil.copytree(variant.root, folder)
            (folder / "SKILL.md").write_text(repairs[-1].text_after, "utf-8")
            store.create(proposal, folder)
        return proposal.id, [r.rule for r in repairs]

    # --- bench ----------------------------------------------------------------------
    def bench_sessions(self) -> list[SessionSummary]:
        from skvm_core.bench.sessions import list_sessions

        return list_sessions(self.workspace)

    def bench_session(self, session: str) -> SessionData:
        from skvm_core.bench.sessions import load_session

        return load_session(self.workspace, session)

    def bench_plan(self, tasks: list[Task], targets: list[str], runs: int = 1) -> BenchPlan:
        from skvm_core.bench.orchestrator import BenchPlan, new_session_id
        from skvm_core.harness import split_target

        # Tabs are models in harnesses; the bench matrix takes both as dimensions.
        models = list(dict.fromkeys(split_target(t)[0] for t in targets))
        harnesses = list(dict.fromkeys(split_target(t)[1] for t in targets))
        return BenchPlan(
            session=new_session_id(),
            tasks=[str(task.task_dir) for task in tasks],
            targets=models,
            harnesses=harnesses,
            runs=runs,
            concurrency=max(1, len(models)),
        )

    async def run_bench(
        self, plan: BenchPlan, progress: Callable[[RunRecord, int, int], None]
    ) -> list[RunRecord]:
        from skvm_core.bench.orchestrator import Bench
        from skvm_core.llm import preload
        from skvm_core.profile.store import load_profile
        from skvm_core.profile.tcp import load_tcp

        await asyncio.to_thread(preload)

        def profile_for(target: str) -> TCP:
            pinned = self.profile_overrides.get(target)
            return load_tcp(pinned) if pinned else load_profile(target, self.workspace)

        from skvm_core.executors import with_executor

        async def work(executor):
            bench = await asyncio.to_thread(
                Bench, plan, self.workspace, progress, profile_for, executor
            )
            return await bench.run()

        return await with_executor(self.executor, work)

    def run_trace(self, record: RunRecord) -> list:
        from skvm_core.agent.trace import read_trace
        from skvm_core.bench.sessions import trace_of

        return read_trace(trace_of(record))
