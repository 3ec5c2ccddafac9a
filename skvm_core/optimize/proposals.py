"""Proposals: a changed variant with its evidence and measured effect, kept until a person
accepts or rejects it. Accepting makes it the target's variant; every accepted version is
kept, and any of them (or the compiler's own variant, version 0) can be restored."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from skvm_core.compile.accepted import AcceptedVariants, History
from skvm_core.errors import SkvmError
from skvm_core.optimize.repairs import Repair
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.names import checked_id, folder_name
from skvm_core.store.workspace import Workspace


def _slug(text: str) -> str:
    return folder_name(text)


class Scores(BaseModel):
    """One variant measured on a set of tasks."""

    tasks: int = 0
    runs: int = 0
    # None where nothing was graded (JSON has no NaN).
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    pass_rate: float | None = None
    per_task: dict[str, float] = Field(default_factory=dict)
    tokens_per_run: float = 0.0
    cost_usd: float | None = 0.0


class RepairNote(BaseModel):
    rule: str
    kind: str
    summary: str
    runs: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, repair: Repair) -> RepairNote:
        return cls(rule=repair.rule, kind=repair.kind, summary=repair.summary, runs=repair.runs)


class Proposal(BaseModel):
    id: str
    skill: str
    target: str
    created: float
    source: str  # "optimize:<session>" or "workbench"
    repairs: list[RepairNote] = Field(default_factory=list)
    evidence_runs: list[str] = Field(default_factory=list)  # run ids, for their traces
    before: Scores | None = None  # held-out scores of the variant it changes
    after: Scores | None = None  # and of the proposal (None: not measured yet)
    # Both on the final test tasks, which chose nothing (None: too few tasks for one).
    final_before: Scores | None = None
    final_after: Scores | None = None
    tokens_spent: int = 0  # every run the search made
    cost_usd: float | None = 0.0
    status: Literal["pending", "accepted", "rejected"] = "pending"
    base_text: str = ""  # the SKILL.md it changes, for the diff
    # Measured on tasks synthesised from the skill's contract (it had no hand-written ones).
    synthetic_tasks: bool = False


class ProposalStore:
    def __init__(self, workspace: Workspace) -> None:
        self.root = workspace.root / "proposals"
        self.accepted = AcceptedVariants(workspace)

    def folder(self, proposal_id: str) -> Path:
        return self.root / checked_id(proposal_id, "proposal id")

    def create(self, proposal: Proposal, variant: Path) -> Proposal:
        folder = self.folder(proposal.id)
        shutil.copytree(variant, folder / "variant", dirs_exist_ok=True)
        self.save(proposal)
        return proposal

    def new_id(self, skill: str) -> str:
        return f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(skill)[:30]}-{secrets.token_hex(2)}"

    def save(self, proposal: Proposal) -> None:
        atomic_write_text(
            self.folder(proposal.id) / "proposal.json", proposal.model_dump_json(indent=2)
        )

    def get(self, proposal_id: str) -> Proposal:
        matches = [p for p in self.all() if p.id.startswith(proposal_id)] if proposal_id else []
        if not matches:
            raise SkvmError(f"no proposal {proposal_id!r}", hint="`skvm proposals list` shows them")
        if len(matches) > 1 and not any(p.id == proposal_id for p in matches):
            raise SkvmError(
                f"{proposal_id!r} names {len(matches)} proposals", hint="give more of the id"
            )
        return next((p for p in matches if p.id == proposal_id), matches[0])

    def all(self) -> list[Proposal]:
        found = []
        for path in sorted(self.root.glob("*/proposal.json")) if self.root.is_dir() else []:
            try:
                found.append(Proposal.model_validate_json(path.read_text("utf-8")))
            except (ValidationError, ValueError, OSError):
                continue
        return found

    def variant_text(self, proposal: Proposal) -> str:
        return (self.folder(proposal.id) / "variant" / "SKILL.md").read_text("utf-8")

    # --- accepted variants (kept by the compiler's store; a proposal only adds to it) ---
    def history(self, skill: str, target: str) -> History:
        return self.accepted.history(skill, target)

    def accepted_variant(self, skill: str, target: str) -> Path | None:
        return self.accepted.current(skill, target)

    def accept(self, proposal_id: str) -> int:
        proposal = self.get(proposal_id)
        if proposal.status != "pending":
            raise SkvmError(f"proposal {proposal.id} is already {proposal.status}")
        number = self.accepted.add(
            proposal.skill, proposal.target, self.folder(proposal.id) / "variant", proposal.id
        )
        proposal.status = "accepted"
        self.save(proposal)
        return number

    def reject(self, proposal_id: str) -> None:
        proposal = self.get(proposal_id)
        if proposal.status != "pending":
            raise SkvmError(f"proposal {proposal.id} is already {proposal.status}")
        proposal.status = "rejected"
        self.save(proposal)

    def restore(self, skill: str, target: str, number: int) -> None:
        self.accepted.restore(skill, target, number)
