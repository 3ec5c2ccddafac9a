"""Why a run failed, in classes a repair can act on, with the step and the skill lines
involved. One record per run (`evidence.json` beside its `result.json`), readable by tools."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from skvm_core.agent.result import RunResult
from skvm_core.run.graders import Score
from skvm_core.store.atomic import atomic_write_text

FailureKind = Literal[
    "tool_format",  # a reply that was neither a readable action nor an answer
    "missing_command",  # a program the command needed is not installed
    "missing_path",  # a file or folder the command needed is not there
    "wrong_format",  # the output exists but is not in the shape the task asked for
    "wrong_value",  # the output has the right shape and wrong values
    "loop",  # the same action again and again
    "step_limit",  # out of steps before the job was done
    "timeout",  # out of time
    "prose",  # answered with a description, wrote nothing
    "crashed",  # the harness or provider failed: not the skill's doing
]
EVIDENCE_FILE = "evidence.json"

_NOT_FOUND = re.compile(r"(?:^|[\s:])([\w.+-]+): (?:command not found|not found)", re.MULTILINE)
_NO_SUCH = re.compile(
    r"(?:can't open file '([^']+)'|No such file or directory: '([^']+)'|"
    r"([\w./-]+): No such file or directory|cannot access '([^']+)')"
)
# A grader's reason for a shape problem (as opposed to a wrong number or name).
_FORMAT_WORDS = re.compile(
    r"not (?:valid )?json|parse|format|schema|not valid|invalid|decode|expecting|"
    r"missing|no such|not an? (?:object|list|number)",
    re.IGNORECASE,
)
_PROGRAM = re.compile(r"^[A-Za-z][\w.+-]*$")


class Failure(BaseModel):
    kind: FailureKind
    detail: str = ""
    step: int | None = None  # the agent step it happened in
    command: str = ""  # the command or call involved
    subject: str = ""  # the missing program or path, the failing criterion
    variant_lines: list[int] = Field(default_factory=list)  # skill lines it ran from
    source_lines: list[int] = Field(default_factory=list)  # the same, in the original skill


class RunEvidence(BaseModel):
    run_id: str
    task_id: str
    target: str
    passed: bool
    score: float
    failures: list[Failure] = Field(default_factory=list)
    tokens: int = 0
    protocol: str = ""
    prompt: str = ""  # the task's prompt (training tasks only reach a proposer)

    @property
    def kinds(self) -> list[str]:
        return list(dict.fromkeys(f.kind for f in self.failures))


def classify(
    task_id: str,
    run: RunResult,
    score: Score,
    files_written: int,
    skill_text: str = "",
    source_map: list[dict] | None = None,
    prompt: str = "",
) -> RunEvidence:
    evidence = RunEvidence(
        run_id=run.run_id,
        task_id=task_id,
        target=run.model,
        passed=score.passed,
        score=score.score,
        tokens=run.usage.input + run.usage.output,
        protocol=run.protocol,
        prompt=prompt,
    )
    failures = evidence.failures
    if run.status == "timeout":
        failures.append(Failure(kind="timeout", detail=run.status_detail))
    elif run.status != "ok":
        failures.append(Failure(kind="crashed", detail=run.status_detail))
    if "repeated" in run.status_detail:
        failures.append(Failure(kind="loop", detail=run.status_detail))
    if "step limit" in run.status_detail:
        failures.append(Failure(kind="step_limit", detail=run.status_detail))
    bad_calls = sum(1 for step in run.steps for t in step.tools if t.call.arguments_error)
    if run.parse_failures or bad_calls:
        failures.append(
            Failure(
                kind="tool_format",
                detail=f"{run.parse_failures} unreadable replies, {bad_calls} calls with unreadable arguments",
            )
        )
    for step in run.steps:
        for tool in step.tools:
            if tool.ok and tool.exit_code in (0, None):
                continue
            command = str(
                tool.call.arguments.get("command") or tool.call.arguments.get("path") or ""
            )
            failure = _tool_failure(tool.output or tool.error or "", tool.exit_code)
            if failure is None:
                continue
            failure.step, failure.command = step.index, command[:300]
            failure.variant_lines = lines_running(skill_text, command)
            failure.source_lines = to_source(failure.variant_lines, source_map or [])
            failures.append(failure)
    if run.status == "ok" and not run.status_detail and files_written == 0 and not score.passed:
        failures.append(Failure(kind="prose", detail=run.final_text[:300]))
    # Nothing written and already explained (prose, a failed step): the grader's misses
    # follow from that and are not failures of their own.
    explained = files_written == 0 and bool(failures)
    if not score.passed and run.status == "ok" and not explained:
        for result in score.results:
            if result.passed or result.infra_error:
                continue
            kind = "wrong_format" if _is_shape_problem(result) else "wrong_value"
            failures.append(
                Failure(kind=kind, subject=result.criterion, detail=result.details[:300])
            )
    return evidence


def _is_shape_problem(result) -> bool:
    failed = [c for c in result.checkpoints if c.score < 1.0]
    if failed:  # the checkpoints' own reasons, not their names ("report_json")
        return any(_FORMAT_WORDS.search(c.reason) for c in failed[:1])
    return bool(_FORMAT_WORDS.search(result.details))


def _tool_failure(output: str, exit_code: int | None) -> Failure | None:
    missing = _NOT_FOUND.search(output)
    if missing and _PROGRAM.match(missing.group(1)):
        # A name that is not a program (`bash:`, `[exit`) is a garbled command instead.
        return Failure(
            kind="missing_command", subject=missing.group(1), detail=output.strip()[-300:]
        )
    path = _NO_SUCH.search(output)
    if path:
        subject = next(g for g in path.groups() if g)
        return Failure(kind="missing_path", subject=subject, detail=output.strip()[-300:])
    return None


def lines_running(skill_text: str, command: str) -> list[int]:
    """Skill lines that hold the command's program or script (1-based)."""
    words = [w for w in re.findall(r"[\w./-]{4,}", command) if "/" in w or "." in w][:3]
    if not words:
        words = command.split()[:1]
    found = []
    for number, line in enumerate(skill_text.splitlines(), start=1):
        if any(word in line for word in words):
            found.append(number)
    return found[:5]


def to_source(variant_lines: list[int], source_map: list[dict]) -> list[int]:
    """Through the compiler's source map: the original lines a variant line came from."""
    found: list[int] = []
    for line in variant_lines:
        for entry in source_map:
            low, high = entry.get("variantLines") or (0, -1)
            source = entry.get("sourceLines")
            if low <= line <= high and source:
                found.extend(range(source[0], source[1] + 1))
    return sorted(set(found))


def variant_source_map(folder: Path) -> list[dict]:
    """A compiled variant's source map (empty for a skill the compiler did not write)."""
    try:
        data = json.loads((folder / ".skvm" / "source_map.json").read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else data.get("entries", [])


def write_evidence(run_dir: Path, evidence: RunEvidence) -> Path:
    path = run_dir / EVIDENCE_FILE
    atomic_write_text(path, evidence.model_dump_json(indent=2))
    return path


def read_evidence(run_dir: Path) -> RunEvidence | None:
    path = run_dir / EVIDENCE_FILE
    try:
        return RunEvidence.model_validate(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError):
        return None
