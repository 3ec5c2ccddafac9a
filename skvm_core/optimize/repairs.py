"""Repairs: a change to the variant's SKILL.md for each kind of failure seen in training runs.

Deterministic rules come first: each adds one instruction, addressed to the model, where a
small model acts on it (the top of the steps, or beside the output format), once. A model
may propose a rewrite for what the rules cannot fix (wrong values); it sees the failures of
the training runs only, never the held-out scores.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from skvm_core.run.evidence import RunEvidence

_STEPS = re.compile(
    r"^##+\s*(steps|how to|workflow|procedure|instructions|usage)\b.*$", re.I | re.M
)
_FORMAT = re.compile(r"^##+\s*(output|format|result)\b.*$", re.I | re.M)
_WRITES = re.compile(r"(?:>|--out(?:put)?\s*=?\s*|-o\s+)\s*['\"]?([\w./-]+)")


class Repair(BaseModel):
    rule: str  # which rule made it
    kind: str  # the failure kind it answers
    summary: str
    runs: list[str] = Field(default_factory=list)  # the evidence: run ids
    text_before: str = ""
    text_after: str = ""


def _action_line(protocol: str) -> str:
    if protocol == "code-act":
        return "Do each step by replying with one ```bash block that holds its command; a reply that only describes a step does nothing."
    return "Do each step by calling the tool `execute_command` with the step's command; a reply that only describes a step does nothing."


def _rules(evidence: list[RunEvidence]) -> list[tuple[str, str, str, str, list[str]]]:
    """(rule, kind, where, line, runs) for every rule some failure triggers, most evidence first."""
    hits: dict[tuple[str, str, str, str], list[str]] = {}
    protocols = Counter(e.protocol for e in evidence if e.protocol)
    protocol = protocols.most_common(1)[0][0] if protocols else ""
    for run in evidence:
        for failure in run.failures:
            found = None
            if failure.kind == "missing_path":
                written = _WRITES.search(failure.command or "")
                if written and written.group(1) == failure.subject:
                    folder = str(PurePosixPath(failure.subject).parent)
                    if folder not in ("", "."):
                        found = (
                            "create-output-folder",
                            "top",
                            f"Before writing into a folder, create it: `mkdir -p {folder}` (use the task's folder name).",
                        )
                if found is None:
                    found = (
                        "check-inputs",
                        "top",
                        "First list the work folder (`ls`) and use the file names that are really there.",
                    )
            elif failure.kind == "missing_command" and failure.subject:
                if failure.subject == "python":
                    found = ("python3", "replace", "python3")
                else:
                    found = (
                        f"no-{failure.subject}",
                        "end",
                        f"`{failure.subject}` is not installed here: do that part with python3 instead.",
                    )
            elif failure.kind in ("tool_format", "prose"):
                found = ("act-with-calls", "top", _action_line(protocol))
            elif failure.kind == "loop":
                found = (
                    "no-repeats",
                    "end",
                    "If a command fails, read its error and change the command; never run the same command twice.",
                )
            elif failure.kind == "step_limit":
                found = (
                    "fewer-steps",
                    "end",
                    "Do the job in as few commands as you can, and check the result at most once.",
                )
            elif failure.kind == "timeout":
                found = (
                    "finish-on-their-own",
                    "end",
                    "Every command must finish on its own: never start a server or wait for input.",
                )
            elif failure.kind == "wrong_format":
                found = (
                    "exact-format",
                    "format",
                    "Write the output file in exactly this format and nothing else: no comments, no extra text.",
                )
            if found is not None:
                hits.setdefault((found[0], failure.kind, found[1], found[2]), []).append(run.run_id)
    ordered = sorted(hits.items(), key=lambda item: -len(set(item[1])))
    return [
        (rule, kind, where, line, sorted(set(runs))) for (rule, kind, where, line), runs in ordered
    ]


def deterministic_repairs(text: str, evidence: list[RunEvidence], limit: int = 3) -> list[Repair]:
    """Repairs the rules make for these failures, each applied on top of the previous one,
    skipping any whose instruction the text already holds."""
    repairs = []
    current = text
    for rule, kind, where, line, runs in _rules(evidence):
        if len(repairs) >= limit:
            break
        changed = _apply(current, where, line)
        if changed == current:
            continue
        repairs.append(
            Repair(
                rule=rule,
                kind=kind,
                summary=line if where != "replace" else "run scripts with python3, not python",
                runs=runs,
                text_before=current,
                text_after=changed,
            )
        )
        current = changed
    return repairs


def _apply(text: str, where: str, line: str) -> str:
    if where == "replace":
        return re.sub(r"(?<![\w/])python(?= )", line, text)
    if line in text:
        return text
    if where == "format":
        match = _FORMAT.search(text)
        if match:
            return text[: match.end()] + f"\n\n{line}" + text[match.end() :]
        where = "end"
    match = _STEPS.search(text)
    if match is None:
        # No steps section: the instruction goes before the first section after the title.
        heading = re.search(r"^##\s", text, re.M)
        at = heading.start() if heading else len(text)
        return text[:at].rstrip() + f"\n\n{line}\n\n" + text[at:].lstrip()
    if where == "top":
        return text[: match.end()] + f"\n\n{line}" + text[match.end() :]
    following = re.search(r"^##\s", text[match.end() :], re.M)
    end = match.end() + following.start() if following else len(text)
    return text[:end].rstrip() + f"\n\n{line}\n\n" + text[end:].lstrip()
