"""`skvm optimize`: baseline → repair → re-run, for up to R rounds.

Tasks are split once into a training set (whose failures drive the repairs), a held-out
set (which only measures, and picks the best round) and, with enough tasks, a final test set
that is never used to pick anything: only the baseline and the chosen round run on it, so
the reported gain is not the one the choice was made on. Every round's runs are an ordinary bench session, so a killed
optimize resumes where it stopped without repeating a finished run. The best round is
picked by a stated rule (`best_round`) and becomes a proposal; nothing changes the target's
variant until a person accepts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from skvm_core.bench.orchestrator import Bench, BenchPlan, RunRecord
from skvm_core.bench.report import mean_interval
from skvm_core.errors import SkvmError
from skvm_core.optimize.proposals import Proposal, ProposalStore, RepairNote, Scores
from skvm_core.optimize.repairs import Repair, deterministic_repairs
from skvm_core.run.evidence import (
    RunEvidence,
    classify,
    variant_source_map,
    write_evidence,
)
from skvm_core.run.runner import TaskRun
from skvm_core.run.task import load_task
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.workspace import Workspace


class OptimizeOptions(BaseModel):
    rounds: int = Field(default=2, ge=1, le=10)  # repair rounds after the baseline
    runs: int = Field(default=2, ge=1, le=20)
    held_out: float = Field(default=1 / 3, gt=0, lt=1)  # share of tasks only measured
    final: float = Field(default=0.25, ge=0, lt=1)  # share kept for the final test (4+ tasks)
    margin: float = Field(default=0.05, ge=0)  # how much a round must beat the baseline by
    max_drop: float = Field(default=0.34, ge=0)  # no held-out task may lose more than this
    token_ratio: float = Field(default=0.8, gt=0)  # "clearly cheaper" at equal score
    proposer: str | None = None  # a model that may rewrite what the rules cannot fix
    seed: int = 0
    temperature: float = 0.7


class Round(BaseModel):
    index: int
    variant: str
    repairs: list[RepairNote] = Field(default_factory=list)
    train: Scores | None = None
    held_out: Scores | None = None
    tainted: int = 0
    tokens: int = 0
    cost_usd: float | None = 0.0


class OptimizeSession(BaseModel):
    id: str
    skill: str
    skill_dir: str
    target: str
    train: list[str]
    held_out: list[str]
    options: OptimizeOptions
    test: list[str] = Field(default_factory=list)  # the final test: never picks a round
    final_base: Scores | None = None  # the baseline on the final test
    final_best: Scores | None = None  # the chosen round on the final test
    rounds: list[Round] = Field(default_factory=list)
    best: int | None = None
    best_reason: str = ""
    proposal: str | None = None
    finished: bool = False
    error: str = ""
    synthetic_tasks: bool = False  # the skill had no hand-written tasks: said in every report


FINAL_MIN_TASKS = 4  # below this, every task is needed to learn from or to choose with


def split_final(paths: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """(the rest, the final test): the same for the same tasks and seed; no final test
    with fewer than FINAL_MIN_TASKS tasks or a zero share."""
    if share <= 0 or len(paths) < FINAL_MIN_TASKS:
        return sorted(paths), []
    ids = {p: load_task(p).id for p in paths}
    ordered = sorted(
        paths, key=lambda p: hashlib.sha256(f"final:{seed}:{ids[p]}".encode()).hexdigest()
    )
    count = min(len(paths) - 2, max(1, round(len(paths) * share)))
    return sorted(ordered[count:]), sorted(ordered[:count])


def split_tasks(paths: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out), the same for the same tasks and seed; each at least one task."""
    if len(paths) < 2:
        raise SkvmError(
            "optimize needs at least two tasks: one to learn from, one to measure on",
            hint="give more tasks with --tasks",
        )
    ids = {p: load_task(p).id for p in paths}
    ordered = sorted(paths, key=lambda p: hashlib.sha256(f"{seed}:{ids[p]}".encode()).hexdigest())
    count = min(len(paths) - 1, max(1, round(len(paths) * share)))
    return sorted(ordered[count:]), sorted(ordered[:count])


def session_folder(workspace: Workspace, session_id: str) -> Path:
    from skvm_core.store.names import checked_id

    return workspace.root / "optimize" / checked_id(session_id, "optimize session id")


def save_session(workspace: Workspace, session: OptimizeSession) -> None:
    atomic_write_text(
        session_folder(workspace, session.id) / "session.json", session.model_dump_json(indent=2)
    )


def load_session(workspace: Workspace, session_id: str) -> OptimizeSession:
    path = session_folder(workspace, session_id) / "session.json"
    if not path.is_file():
        raise SkvmError(f"no optimize session {session_id!r}", hint=f"look in {path.parent.parent}")
    try:
        return OptimizeSession.model_validate_json(path.read_text("utf-8"))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise SkvmError(
            f"{path} is damaged ({str(exc).splitlines()[0]})",
            hint="start a new session; the finished runs stay in the bench sessions",
        ) from exc


def scores(records: list[RunRecord]) -> Scores:
    graded = [r for r in records if not r.tainted and not r.skipped]
    by_task: dict[str, list[float]] = defaultdict(list)
    for record in graded:
        by_task[record.task_id].append(record.score)
    per_task = {task: statistics.fmean(values) for task, values in sorted(by_task.items())}
    mean, low, high = mean_interval(list(per_task.values()))
    costs = [r.cost_usd for r in graded]
    return Scores(
        tasks=len(per_task),
        runs=len(graded),
        mean=_number(mean),
        low=_number(low),
        high=_number(high),
        pass_rate=statistics.fmean([r.passed for r in graded]) if graded else None,
        per_task=per_task,
        tokens_per_run=statistics.fmean([r.usage.input + r.usage.output for r in graded])
        if graded
        else 0.0,
        cost_usd=None if any(c is None for c in costs) else sum(costs),
    )


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def best_round(rounds: list[Round], options: OptimizeOptions) -> tuple[int, str]:
    """The round to propose (0: keep the baseline) and why, on held-out scores: a round
    qualifies if it beats the baseline by the margin, or keeps the baseline's score at
    clearly lower token cost, and no held-out task dropped by more than the allowed amount;
    of those, the highest mean wins and ties go to the earlier round."""
    base = rounds[0].held_out
    if base is None or base.mean is None:
        return 0, "the baseline has no graded held-out runs"
    best, reason = 0, "no round beat the baseline on the held-out tasks"
    for candidate in rounds[1:]:
        measured = candidate.held_out
        if measured is None or measured.mean is None:
            continue
        dropped = [
            task
            for task, score in base.per_task.items()
            if measured.per_task.get(task, 0.0) < score - options.max_drop
        ]
        if dropped:
            if best == 0:
                reason = f"round {candidate.index} dropped {', '.join(dropped)} too far"
            continue
        better = measured.mean >= base.mean + options.margin
        cheaper = (
            measured.mean >= base.mean
            and base.tokens_per_run > 0
            and measured.tokens_per_run <= options.token_ratio * base.tokens_per_run
        )
        if not (better or cheaper):
            continue
        if best == 0 or measured.mean > rounds[best].held_out.mean:
            best = candidate.index
            reason = (
                f"round {best}: held-out mean {measured.mean:.2f} vs baseline {base.mean:.2f}"
                + (
                    ""
                    if better
                    else f", at {measured.tokens_per_run / base.tokens_per_run:.2f}× the tokens"
                )
            )
    return best, reason


Progress = Callable[[str], None]


async def run_optimize(
    session: OptimizeSession,
    workspace: Workspace,
    *,
    baseline: Path | None = None,
    progress: Progress | None = None,
) -> OptimizeSession:
    """Run (or resume) the session to its end; returns it with its best round chosen."""
    say = progress or (lambda _: None)
    folder = session_folder(workspace, session.id)
    if not session.rounds:
        if baseline is None:
            raise SkvmError("a new optimize session needs its baseline variant")
        first = folder / "round-0" / "variant"
        shutil.copytree(baseline, first, dirs_exist_ok=True)
        session.rounds.append(Round(index=0, variant=str(first)))
        save_session(workspace, session)
    while True:
        current = session.rounds[-1]
        say(
            f"round {current.index}: running {len(session.train) + len(session.held_out)} tasks × {session.options.runs}"
        )
        records = await _run_round(session, current, workspace)
        _measure(session, current, records)
        save_session(workspace, session)
        if current.index >= session.options.rounds:
            break
        repairs = await _repairs(session, current, records)
        if not repairs:
            failed = current.train is not None and current.train.pass_rate != 1.0
            say(
                f"round {current.index}: "
                + ("no repair applies to what failed" if failed else "every training run passed")
                + "; stopping"
            )
            break
        nxt = folder / f"round-{current.index + 1}" / "variant"
        shutil.rmtree(nxt, ignore_errors=True)
        shutil.copytree(Path(current.variant), nxt)
        (nxt / "SKILL.md").write_text(repairs[-1].text_after, "utf-8")
        session.rounds.append(
            Round(
                index=current.index + 1,
                variant=str(nxt),
                repairs=[RepairNote.of(r) for r in repairs],
            )
        )
        save_session(workspace, session)
    if all(r.held_out is None or r.held_out.runs == 0 for r in session.rounds):
        session.error = "no held-out run was graded (every run tainted?)"
    session.best, session.best_reason = best_round(session.rounds, session.options)
    if session.best and session.test and session.final_best is None:
        say(f"final test: baseline and round {session.best} on {len(session.test)} unseen tasks")
        await _final_test(session, workspace)
        save_session(workspace, session)
    if session.best and session.proposal is None:
        session.proposal = _propose(session, workspace).id
    session.finished = True
    save_session(workspace, session)
    return session


async def _run_round(
    session: OptimizeSession, current: Round, workspace: Workspace
) -> list[RunRecord]:
    plan = BenchPlan(
        session=f"opt-{session.id}-r{current.index}",
        tasks=session.train + session.held_out,
        targets=[session.target],
        conditions=[f"custom:round-{current.index}={current.variant}"],
        runs=session.options.runs,
        concurrency=1,
        temperature=session.options.temperature,
    )
    return await Bench(plan, workspace).run()


async def _final_test(session: OptimizeSession, workspace: Workspace) -> None:
    """The baseline and the chosen round on the final test tasks, side by side in one
    session (resumable like every other)."""
    base, best = session.rounds[0], session.rounds[session.best or 0]
    plan = BenchPlan(
        session=f"opt-{session.id}-final",
        tasks=session.test,
        targets=[session.target],
        conditions=[f"custom:round-0={base.variant}", f"custom:round-{best.index}={best.variant}"],
        runs=session.options.runs,
        concurrency=1,
        temperature=session.options.temperature,
    )
    records = await Bench(plan, workspace).run()
    from skvm_core.bench.conditions import condition_label

    def of(index: int) -> list[RunRecord]:
        return [r for r in records if condition_label(r.condition) == f"custom:round-{index}"]

    session.final_base, session.final_best = scores(of(0)), scores(of(best.index))


def _measure(session: OptimizeSession, current: Round, records: list[RunRecord]) -> None:
    train_ids = {load_task(p).id for p in session.train}
    current.train = scores([r for r in records if r.task_id in train_ids])
    current.held_out = scores([r for r in records if r.task_id not in train_ids])
    current.tainted = sum(r.tainted for r in records)
    current.tokens = sum(r.usage.input + r.usage.output for r in records)
    costs = [r.cost_usd for r in records]
    current.cost_usd = None if any(c is None for c in costs) else sum(costs)


def round_evidence(
    session: OptimizeSession, current: Round, records: list[RunRecord]
) -> list[RunEvidence]:
    """Classified failures of the round's training runs (held-out runs are never read)."""
    train_ids = {load_task(p).id for p in session.train}
    prompts = {load_task(p).id: load_task(p).prompt for p in session.train}
    text = (Path(current.variant) / "SKILL.md").read_text("utf-8")
    source_map = variant_source_map(Path(current.variant))
    found = []
    for record in records:
        if record.task_id not in train_ids or record.trace is None:
            continue
        run_dir = Path(record.trace).parent
        try:
            outcome = TaskRun.model_validate_json((run_dir / "result.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        evidence = classify(
            record.task_id,
            outcome.run,
            outcome.score,
            outcome.files_written,
            text,
            source_map,
            prompt=prompts.get(record.task_id, ""),
        )
        write_evidence(run_dir, evidence)
        found.append(evidence)
    return found


async def _repairs(
    session: OptimizeSession, current: Round, records: list[RunRecord]
) -> list[Repair]:
    evidence = round_evidence(session, current, records)
    text = (Path(current.variant) / "SKILL.md").read_text("utf-8")
    repairs = deterministic_repairs(text, evidence)
    wrong_values = any(f.kind == "wrong_value" for e in evidence for f in e.failures)
    if session.options.proposer and wrong_values:
        from skvm_core.optimize.proposer import propose_rewrite

        base = repairs[-1].text_after if repairs else text
        # A refused or failed rewrite: the rules' repairs still stand.
        with contextlib.suppress(SkvmError):
            repairs.append(await propose_rewrite(base, evidence, session.options.proposer))
    return repairs


def _propose(session: OptimizeSession, workspace: Workspace) -> Proposal:
    store = ProposalStore(workspace)
    chosen = session.rounds[session.best or 0]
    base = session.rounds[0]
    repairs = [note for r in session.rounds[1 : chosen.index + 1] for note in r.repairs]
    costs = [r.cost_usd for r in session.rounds]
    proposal = Proposal(
        id=store.new_id(session.skill),
        skill=session.skill,
        target=session.target,
        created=time.time(),
        source=f"optimize:{session.id}",
        repairs=repairs,
        evidence_runs=sorted({run for note in repairs for run in note.runs}),
        before=base.held_out,
        after=chosen.held_out,
        final_before=session.final_base,
        final_after=session.final_best,
        tokens_spent=sum(r.tokens for r in session.rounds),
        cost_usd=None if any(c is None for c in costs) else sum(costs),
        base_text=(Path(base.variant) / "SKILL.md").read_text("utf-8"),
        synthetic_tasks=session.synthetic_tasks,
    )
    return store.create(proposal, Path(chosen.variant))
