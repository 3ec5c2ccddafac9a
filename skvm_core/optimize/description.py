"""`skvm optimize --description`: a better `description` for a skill, measured by triggers.

The prompts are split once, per kind and seeded, into a training part (60%) and a held-out
part (40%). The objective is the load rate minus the false-load rate. A proposer model sees
the description and the training prompts it got wrong (never a held-out one) and writes a
new description; each candidate is measured on the training prompts. Every candidate is then
measured on the held-out prompts, and the best there is chosen. Only a candidate that beats
the original there becomes a proposal; the skill's own folder is never changed.

Each candidate is a copy of the skill with the new description, so every harness discovers
it from files as it would the original; trigger records are shared with `skvm triggers`, so
a resumed session repeats no run.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from skvm_core.bench.trigger_prompts import PromptSet, TriggerPrompt, split_prompts
from skvm_core.bench.trigger_report import cell_of
from skvm_core.bench.triggers import TriggerOptions, TriggerRecord, TriggerStore, run_triggers
from skvm_core.errors import SkvmError
from skvm_core.optimize.proposals import Proposal, ProposalStore, RepairNote, Scores
from skvm_core.skill import Skill
from skvm_core.skill.frontmatter import with_description
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.names import folder_name
from skvm_core.store.workspace import Workspace

HELD_OUT = 0.4
DESCRIPTION_MAX = 1024  # the Agent Skills limit
_BLOCK = re.compile(r"```[a-z]*[ \t]*\n(.*?)```", re.DOTALL)
_IGNORED = (".skvm", "__pycache__", ".git", "node_modules", ".venv")

Progress = Callable[[str], None]


class Candidate(BaseModel):
    index: int  # 0: the original
    description: str
    origin: str  # "original" or "proposer:<model>"
    key: str = ""  # the trigger records' key ("" for a refused candidate)
    train: float | None = None  # load rate − false-load rate
    held_out: float | None = None
    problem: str = ""  # why it was refused ("" when it was measured)


class DescriptionSession(BaseModel):
    skill: str
    skill_dir: str
    target: str
    harness: str
    proposer: str
    seed: int
    rounds: int
    options: TriggerOptions
    origin: str  # where the prompts came from
    train: list[str]  # prompt ids
    held_out: list[str]
    candidates: list[Candidate] = Field(default_factory=list)
    best: int | None = None
    reason: str = ""
    proposal: str | None = None
    tokens: int = 0


# --- the description in SKILL.md ---------------------------------------------------------


def skill_with(skill: Skill, description: str, folder: Path) -> Skill:
    """A copy of the skill in `folder`/<name> that differs only in its description."""
    from skvm_core.skill import load_skill
    from skvm_core.store.beneath import copy_tree_beneath

    if description == skill.description:
        return skill
    target = folder / skill.name
    if not (target / "SKILL.md").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and moved in whole: an interrupted copy is never taken for a candidate.
        staging = Path(tempfile.mkdtemp(prefix=".candidate-", dir=folder.parent))
        try:
            copy_tree_beneath(
                skill.root,
                staging,
                skill.name,
                ignore=lambda n: n in _IGNORED or n.endswith(".pyc"),
            )
            atomic_write_text(
                staging / skill.name / "SKILL.md", with_description(skill.source, description)
            )
            folder.mkdir(parents=True, exist_ok=True)
            (staging / skill.name).replace(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return load_skill(target)


# --- the proposer ------------------------------------------------------------------------


def proposer_prompt(
    skill: Skill, description: str, misses: list[TriggerPrompt], hits: list[TriggerPrompt]
) -> str:
    def listed(prompts: list[TriggerPrompt]) -> str:
        return "\n".join(f"- {p.text[:300]}" for p in prompts[:8]) or "- (none)"

    missed = [p for p in misses if p.should_trigger]
    wrong = [p for p in misses if not p.should_trigger]
    return (
        f"An agent is offered a skill named `{skill.name}` by its description alone, and "
        "loads it only when the description tells it the request is one the skill is for.\n\n"
        f"Current description:\n{description}\n\n"
        f"Requests the skill is for, on which the agent did NOT load it:\n{listed(missed)}\n\n"
        f"Requests the skill is not for, on which the agent loaded it anyway:\n{listed(wrong)}\n\n"
        f"Requests it already got right:\n{listed(hits)}\n\n"
        "Write a better description: say what the skill does and when to use it, in words a "
        "user would use, so that the agent loads it for requests like the first list and not "
        f"for the second. One paragraph, at most {DESCRIPTION_MAX} characters, no line breaks. "
        "Reply with only the description inside one ```text block."
    )


def parse_description(reply: str) -> str:
    match = _BLOCK.search(reply)
    text = (match.group(1) if match else reply).strip()
    text = re.sub(r"^\s*description\s*:\s*", "", text, flags=re.IGNORECASE)
    text = " ".join(text.split()).strip().strip("\"'").strip()
    return text


def description_problem(text: str, earlier: list[str]) -> str:
    """Why a proposed description cannot be tried ("" when it can)."""
    if not text:
        return "it was empty"
    if len(text) > DESCRIPTION_MAX:
        return f"it is {len(text)} characters (the limit is {DESCRIPTION_MAX})"
    if text in earlier:
        return "it repeats a description already tried"
    return ""


async def propose(skill: Skill, description: str, misses, hits, model: str) -> tuple[str, int]:
    from skvm_core.llm import CallOptions, complete

    messages = [
        {"role": "system", "content": "You write the descriptions that agents pick skills by."},
        {"role": "user", "content": proposer_prompt(skill, description, misses, hits)},
    ]
    response = await complete(model, messages, options=CallOptions(max_tokens=512, temperature=0.7))
    return parse_description(response.text), response.usage.input + response.usage.output


# --- the session -------------------------------------------------------------------------


def session_path(out: Path, target: str, harness: str, seed: int, proposer: str) -> Path:
    return (
        out
        / "description"
        / f"{folder_name(target)}-{folder_name(harness)}-{folder_name(proposer)}-seed{seed}.json"
    )


def _load(path: Path) -> DescriptionSession | None:
    try:
        return DescriptionSession.model_validate_json(path.read_text("utf-8"))
    except (OSError, ValueError, ValidationError):
        return None


class _Measure:
    """Runs (or reads back) one candidate on a set of prompts and gives its objective."""

    def __init__(
        self,
        session: DescriptionSession,
        skill: Skill,
        store: TriggerStore,
        workspace: Workspace,
        out: Path,
        progress: Progress | None,
    ) -> None:
        self.session, self.skill, self.store = session, skill, store
        self.workspace, self.out, self.progress = workspace, out, progress
        self.records: dict[tuple[int, str], list[TriggerRecord]] = {}

    def skill_of(self, candidate: Candidate) -> Skill:
        digest = hashlib.sha256(candidate.description.encode("utf-8")).hexdigest()[:12]
        return skill_with(self.skill, candidate.description, self.out / "candidates" / digest)

    async def __call__(
        self, candidate: Candidate, prompts: list[TriggerPrompt], part: str
    ) -> float | None:
        from skvm_core.bench.triggers import offer_key

        offered = self.skill_of(candidate)
        candidate.key = offer_key(offered, self.session.options)
        records = await run_triggers(
            offered, prompts, [self.session.target], [self.session.harness],
            self.session.options, self.store, self.workspace, progress=self.progress,
        )  # fmt: skip
        self.records[(candidate.index, part)] = records
        return cell_of(self.session.target, self.session.harness, records).score


def _by_id(prompts: PromptSet, ids: list[str]) -> list[TriggerPrompt]:
    known = {p.id: p for p in prompts.prompts}
    return [known[i] for i in ids if i in known]


async def optimize_description(
    skill: Skill,
    prompts: PromptSet,
    *,
    target: str,
    harness: str,
    proposer: str,
    rounds: int,
    seed: int,
    options: TriggerOptions,
    workspace: Workspace,
    out: Path,
    base_variant: Path,
    base_note: str,
    progress: Progress | None = None,
) -> DescriptionSession:
    path = session_path(out, target, harness, seed, proposer)
    train, test = split_prompts(prompts.prompts, HELD_OUT, seed)
    if (
        not test
        or not any(p.should_trigger for p in test)
        or not any(p.should_trigger for p in train)
    ):
        raise SkvmError(
            f"{skill.name} has too few trigger prompts to hold 40% out ({len(prompts.prompts)})",
            hint="give at least two should-trigger and two should-not-trigger prompts (triggers.json or --prompts)",
        )
    session = _load(path)
    if session is None or session.train != [p.id for p in train] or session.options != options:
        session = DescriptionSession(
            skill=skill.name, skill_dir=str(skill.root), target=target, harness=harness,
            proposer=proposer, seed=seed, rounds=rounds, options=options, origin=prompts.origin,
            train=[p.id for p in train], held_out=[p.id for p in test],
            candidates=[Candidate(index=0, description=skill.description, origin="original")],
        )  # fmt: skip
    session.rounds = rounds
    measure = _Measure(session, skill, TriggerStore(out), workspace, out, progress)

    def save() -> None:
        atomic_write_text(path, session.model_dump_json(indent=2))

    original = session.candidates[0]
    original.train = await measure(original, train, "train")
    save()
    for index in range(1, rounds + 1):
        if index < len(session.candidates):  # proposed before an interruption
            candidate = session.candidates[index]
        else:
            best = max(
                (c for c in session.candidates if not c.problem),
                key=lambda c: (c.train or 0.0, -c.index),
            )
            misses, hits = _split_results(measure.records.get((best.index, "train")) or [], train)
            text, tokens = await propose(skill, best.description, misses, hits, proposer)
            session.tokens += tokens
            problem = description_problem(text, [c.description for c in session.candidates])
            candidate = Candidate(
                index=index, description=text, origin=f"proposer:{proposer}", problem=problem
            )
            session.candidates.append(candidate)
            save()
        if not candidate.problem:
            candidate.train = await measure(candidate, train, "train")
            save()
    for candidate in session.candidates:
        if not candidate.problem:
            candidate.held_out = await measure(candidate, test, "held-out")
            save()
    _choose(session)
    if session.best and session.proposal is None:
        session.proposal = _propose(
            session, skill, measure, test, workspace, base_variant, base_note
        ).id
    save()
    return session


def _split_results(
    records: list[TriggerRecord], prompts: list[TriggerPrompt]
) -> tuple[list[TriggerPrompt], list[TriggerPrompt]]:
    """(prompts it got wrong in some run, prompts it always got right) on training runs."""
    wrong = {r.prompt_id for r in records if not r.tainted and r.loaded != r.should_trigger}
    return [p for p in prompts if p.id in wrong], [p for p in prompts if p.id not in wrong]


def _choose(session: DescriptionSession) -> None:
    measured = [c for c in session.candidates if c.held_out is not None]
    original = session.candidates[0]
    if original.held_out is None or not measured:
        session.best, session.reason = (
            None,
            "nothing could be measured on the held-out prompts (every run was tainted)",
        )
        return
    best = max(measured, key=lambda c: (c.held_out, c.train or 0.0, -c.index))
    refused = [c for c in session.candidates if c.problem]
    if best.index == 0 or best.held_out <= original.held_out:
        tried = len(session.candidates) - 1 - len(refused)
        why = (
            f"no candidate beat the original on the held-out prompts (original {original.held_out:+.2f}, "
            f"best candidate {max((c.held_out for c in measured if c.index), default=float('nan')):+.2f}; {tried} tried)"
            if tried
            else "the proposer gave no usable description"
        )
        if refused:
            why += "; refused: " + "; ".join(f"#{c.index} {c.problem}" for c in refused)
        session.best, session.reason = None, why
        return
    session.best = best.index
    session.reason = (
        f"candidate {best.index} scores {best.held_out:+.2f} on the held-out prompts against the "
        f"original's {original.held_out:+.2f} (load rate − false-load rate)"
    )


def _scores(records: list[TriggerRecord], target: str, harness: str) -> Scores:
    cell = cell_of(target, harness, records)
    per_prompt: dict[str, list[float]] = {}
    for r in records:
        if not r.tainted:
            per_prompt.setdefault(r.prompt_id, []).append(float(r.loaded == r.should_trigger))
    return Scores(
        tasks=len(per_prompt),
        runs=len(records),
        mean=cell.score,
        pass_rate=cell.load.rate,
        per_task={k: sum(v) / len(v) for k, v in per_prompt.items()},
        tokens_per_run=cell.tokens_per_run,
        cost_usd=None,
    )


def _propose(
    session,
    skill,
    measure: _Measure,
    test,
    workspace: Workspace,
    base_variant: Path,
    base_note: str,
) -> Proposal:
    store = ProposalStore(workspace)
    chosen = session.candidates[session.best]
    before = measure.records[(0, "held-out")]
    after = measure.records[(chosen.index, "held-out")]
    base_text = (base_variant / "SKILL.md").read_text("utf-8")
    runs = sorted(
        {Path(r.trace).parent.name for r in measure.records[(chosen.index, "train")] if r.trace}
    )
    proposal = Proposal(
        id=store.new_id(skill.name),
        skill=skill.name,
        target=session.target,
        created=time.time(),
        source=f"optimize-description:{session.harness}:seed{session.seed}",
        repairs=[
            RepairNote(
                rule=f"description:{session.proposer}",
                kind="description",
                summary=f"description rewritten ({session.reason}); {base_note}. New: {chosen.description}",
                runs=runs[:20],
            )
        ],
        evidence_runs=runs[:20],
        before=_scores(before, session.target, session.harness),
        after=_scores(after, session.target, session.harness),
        tokens_spent=session.tokens
        + sum(r.tokens_in + r.tokens_out for rs in measure.records.values() for r in rs),
        cost_usd=None,
        base_text=base_text,
    )
    staging = Path(tempfile.mkdtemp(prefix="skvm-description-"))
    try:
        variant = staging / "variant"
        shutil.copytree(base_variant, variant, ignore=shutil.ignore_patterns(*_IGNORED))
        atomic_write_text(variant / "SKILL.md", with_description(base_text, chosen.description))
        return store.create(proposal, variant)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
