"""A skill's workflow as a DAG: its steps, their data dependencies, parallel groups.

Shared by the compiler (concurrency notes in a variant) and the runtime (a per-item step
fanned out into sub-runs), so it lives with the skill model rather than in either.

Numbered steps are taken to depend on the step before them unless the skill says its
steps are independent ("independent", "in any order", "in parallel"); then only data
dependencies (a file one step writes and a later one reads) and explicit ordering
("after steps 1–3") connect them. Groups of steps with no path between them run in
parallel and are labelled DLP (one operation over many items), ILP (independent tool calls)
or TLP (independent sub-tasks).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from skvm_core.skill.model import MarkdownList, Skill

PARALLEL_WORDS = re.compile(
    r"\b(independent|in any order|all at once|in parallel|concurrently)\b", re.IGNORECASE
)

FILE_TOKEN = re.compile(
    r"`([^`\s]+)`|\b([\w.-]+\.(?:txt|csv|json|md|py|sh|sql|db|html|log|yaml|yml|xml))\b|\b([\w-]+/)(?=\s|$|[,.;)])"
)
PRODUCE_VERBS = re.compile(
    r"\b(write|writes|save|saves|create|creates|produce|generate|output|to|into)\b", re.IGNORECASE
)
AFTER_STEPS = re.compile(
    r"\bafter steps?\s+(\d+)(?:\s*(?:–|-|to|and|through)\s*(\d+))?", re.IGNORECASE
)
EACH_ITEM = re.compile(
    r"\b(for each|for every|each of the|every (?:file|item|row|page|record|document|entry))\b",
    re.IGNORECASE,
)
READ_ONLY = re.compile(r"^\s*(read|list|count|look|check|inspect|fetch|open)\b", re.IGNORECASE)

GroupKind = Literal["DLP", "ILP", "TLP"]


class WorkflowStep(BaseModel):
    """One numbered step; `depends_on` holds the ids of the steps it must wait for."""

    id: str
    number: int
    text: str
    lines: tuple[int, int]
    produces: list[str] = Field(default_factory=list)
    consumes: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list, alias="dependsOn")

    model_config = {"populate_by_name": True}


class ParallelGroup(BaseModel):
    steps: list[str]
    kind: GroupKind
    reason: str


class Workflow(BaseModel):
    section: str
    lines: tuple[int, int]
    declared_independent: bool = Field(alias="declaredIndependent")
    steps: list[WorkflowStep]
    groups: list[ParallelGroup] = Field(default_factory=list)

    model_config = {"populate_by_name": True}


def _files(text: str) -> list[tuple[int, str]]:
    found = []
    for match in FILE_TOKEN.finditer(text):
        token = next(g for g in match.groups() if g)
        token = token.strip("`")
        if token.startswith(".") or re.fullmatch(r"[\d.]+", token):
            continue  # an extension on its own, or a version number
        if "/" in token or "." in token:
            found.append((match.start(), token))
    return found


def _classify(text: str) -> tuple[list[str], list[str]]:
    produces, consumes = [], []
    for position, token in _files(text):
        before = text[max(0, position - 40) : position]
        clause = re.split(r"[.;:]|\band\b|\bthen\b|,", before)[-1]
        (produces if PRODUCE_VERBS.search(clause) else consumes).append(token)
    return sorted(set(produces)), sorted(set(consumes) - set(produces))


def pick_procedure(skill: Skill) -> MarkdownList | None:
    candidates = [p for p in skill.ir.procedures if p.depth == 0 and len(p.items) >= 2]
    if not candidates:
        return None
    named = [
        p
        for p in candidates
        if p.section_path
        and re.search(r"workflow|steps|procedure|how to", p.section_path[-1], re.IGNORECASE)
    ]
    return (named or sorted(candidates, key=lambda p: -len(p.items)))[0]


def extract_workflow(skill: Skill) -> Workflow | None:
    procedure = pick_procedure(skill)
    if procedure is None:
        return None
    declared = PARALLEL_WORDS.search(skill.body) is not None
    source_lines = skill.source.splitlines()
    steps: list[WorkflowStep] = []
    for index, item in enumerate(procedure.items):
        full = " ".join(line.strip() for line in source_lines[item.span.start - 1 : item.span.end])
        full = re.sub(r"^\s*\d+[.)]\s*", "", full)
        produces, consumes = _classify(full)
        steps.append(
            WorkflowStep(
                id=f"s{index + 1}",
                number=item.number or index + 1,
                text=full,
                lines=(item.span.start, item.span.end),
                produces=produces,
                consumes=consumes,
            )
        )
    by_number = {s.number: s for s in steps}
    for position, step in enumerate(steps):
        deps: set[str] = set()
        for match in AFTER_STEPS.finditer(step.text):
            low = int(match.group(1))
            high = int(match.group(2) or low)
            deps |= {
                by_number[n].id for n in range(low, high + 1) if n in by_number and n != step.number
            }
        for earlier in steps[:position]:
            if set(earlier.produces) & set(step.consumes) or any(
                c.startswith(p.rstrip("/"))
                for p in earlier.produces
                for c in step.consumes
                if p.endswith("/")
            ):
                deps.add(earlier.id)
        if not declared and position > 0 and not deps:
            deps.add(steps[position - 1].id)
        step.depends_on = sorted(deps, key=lambda i: int(i[1:]))
    workflow = Workflow(
        section=" / ".join(procedure.section_path) or "(top)",
        lines=(procedure.span.start, procedure.span.end),
        declaredIndependent=declared,
        steps=steps,
    )
    workflow.groups = parallel_groups(workflow)
    return workflow


def _ancestors(step_id: str, by_id: dict[str, WorkflowStep]) -> set[str]:
    seen: set[str] = set()
    stack = list(by_id[step_id].depends_on)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(by_id[current].depends_on)
    return seen


def parallel_groups(workflow: Workflow) -> list[ParallelGroup]:
    by_id = {s.id: s for s in workflow.steps}
    depth: dict[str, int] = {}
    for step in workflow.steps:  # steps only depend on earlier ones, so one pass suffices
        depth[step.id] = 1 + max((depth[d] for d in step.depends_on), default=-1)
    groups: list[ParallelGroup] = []
    for level in sorted(set(depth.values())):
        members = [s for s in workflow.steps if depth[s.id] == level]
        independent = [
            s
            for s in members
            if not any(o.id in _ancestors(s.id, by_id) for o in members if o is not s)
        ]
        if len(independent) >= 2:
            ids = [s.id for s in independent]
            if all(READ_ONLY.match(s.text) and not s.produces for s in independent):
                groups.append(
                    ParallelGroup(
                        steps=ids,
                        kind="ILP",
                        reason="independent reads: one turn with all the tool calls",
                    )
                )
            else:
                groups.append(
                    ParallelGroup(
                        steps=ids,
                        kind="TLP",
                        reason="independent sub-tasks with no data flowing between them",
                    )
                )
    for step in workflow.steps:
        if EACH_ITEM.search(step.text):
            groups.append(
                ParallelGroup(
                    steps=[step.id], kind="DLP", reason="the same operation over many items"
                )
            )
    return groups
