"""Grade a finished run: script, file-check, python-grade (and llm-judge, later).

Scores follow the reference's eval protocol: each criterion scores 0..1 with per-check
reasons; the task score is the weighted mean. A run passes when every criterion passes
(partial credit is a score, not a pass), or when the task declares `passThreshold` and the
score reaches it. A criterion
that could not be judged (missing host tool, no judge model) is an infrastructure skip and
is left out of the score instead of counting as 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import regex
from pydantic import BaseModel, Field

from skvm_core.agent.result import RunResult
from skvm_core.agent.sandbox import run_command
from skvm_core.grading import PASS_MARK, Checkpoint, EvalResult, scored_from_checkpoints
from skvm_core.run.judge import grade_llm_judge
from skvm_core.run.task import (
    CustomCriterion,
    FileCheckCriterion,
    LlmJudgeCriterion,
    PythonGradeCriterion,
    ScriptCriterion,
    Task,
)
from skvm_core.run.workfiles import inside, read_text

REGEX_TIMEOUT_S = 2.0
SCRIPT_OUTPUT_CAP = 1_000_000


class Score(BaseModel):
    score: float = 0.0
    passed: bool = False
    results: list[EvalResult] = Field(default_factory=list)
    skipped: bool = False  # every criterion was an infrastructure skip
    tainted: bool = False  # the run itself did not finish normally: not graded

    def summary(self) -> str:
        if self.tainted:
            return "not graded (run tainted)"
        if self.skipped:
            return "skipped (infrastructure)"
        return f"{'PASS' if self.passed else 'FAIL'} {self.score:.2f}"


def combine(
    results: list[EvalResult],
    grading_weights: dict[str, float] | None = None,
    pass_threshold: float | None = None,
) -> Score:
    graded = [r for r in results if r.infra_error is None]
    if not graded:
        return Score(results=results, skipped=bool(results))
    groups: dict[str, list[EvalResult]] = {}
    for result in graded:
        groups.setdefault("llmJudge" if result.method == "llm-judge" else "automated", []).append(
            result
        )

    def weighted(items: list[EvalResult]) -> float:
        total = sum(r.weight for r in items)
        return (
            sum(r.score * r.weight for r in items) / total
            if total
            else sum(r.score for r in items) / len(items)
        )

    if grading_weights and len(groups) > 1:
        weights = {name: grading_weights.get(name, 0.0) for name in groups}
        total = sum(weights.values()) or 1.0
        score = sum(weighted(items) * weights[name] for name, items in groups.items()) / total
    else:
        score = weighted(graded)
    score = max(0.0, min(1.0, score))
    if pass_threshold is not None:
        passed = score >= pass_threshold
    else:
        passed = all(r.passed for r in graded)
    return Score(score=score, passed=passed, results=results)


async def evaluate(task: Task, run: RunResult, judge_model: str | None = None) -> Score:
    """Grade `run` against every criterion of `task`, in order."""
    if run.tainted:
        return Score(tainted=True)
    results = []
    for index, criterion in enumerate(task.eval):
        label = criterion.name or criterion.id or f"{criterion.method}#{index + 1}"
        try:
            result = await _grade_one(criterion, task, run, label, judge_model)
        except Exception as exc:  # a broken grader scores 0 with its reason, never a crash
            result = EvalResult(
                criterion=label,
                method=criterion.method,
                details=f"grader failed: {type(exc).__name__}: {exc}",
            )
        result.weight = criterion.weight
        results.append(result)
    return combine(results, task.grading_weights, task.pass_threshold)


async def _grade_one(
    criterion, task: Task, run: RunResult, label: str, judge_model: str | None
) -> EvalResult:
    if isinstance(criterion, ScriptCriterion):
        grader_dir = task.task_dir / "grader" if task.task_dir else None
        return await grade_script(criterion, run.work_dir, label, grader_dir)
    if isinstance(criterion, FileCheckCriterion):
        return grade_file_check(criterion, run.work_dir, label)
    if isinstance(criterion, PythonGradeCriterion):
        source = _grade_source(task, criterion.file)
        return await grade_python(source, task, run, label, criterion.timeout_ms / 1000)
    if isinstance(criterion, CustomCriterion):
        if criterion.evaluator_id == "python-grade":
            source = (
                criterion.payload
                if isinstance(criterion.payload, str)
                else _grade_source(task, "grade.py")
            )
            return await grade_python(source, task, run, label, 120.0)
        return EvalResult(
            criterion=label,
            method="custom",
            details=f"unknown evaluator {criterion.evaluator_id!r}",
        )
    if isinstance(criterion, LlmJudgeCriterion):
        return await grade_llm_judge(
            criterion, task.prompt, run, label, judge_model or os.environ.get("SKVM_JUDGE_MODEL")
        )
    return EvalResult(
        criterion=label,
        method=str(getattr(criterion, "method", "?")),
        details="unsupported criterion",
    )


def _grade_source(task: Task, name: str) -> str:
    if task.task_dir is None or not (task.task_dir / name).is_file():
        raise FileNotFoundError(f"{name} is missing next to task.json")
    return (task.task_dir / name).read_text("utf-8")


def read_protocol_line(stdout: str) -> dict[str, Any] | None:
    """The last non-empty stdout line, when it is a JSON object (eval-script protocol)."""
    lines = [line for line in stdout.strip().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        value = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


async def grade_script(
    criterion: ScriptCriterion, work_dir: Path, label: str, grader_dir: Path | None = None
) -> EvalResult:
    """Run a script check in the work folder, isolated from what the agent planted there.
    A task's own `grader/` folder (tests, expected files) is laid out read-only outside
    the work folder and named by `$GRADER_DIR`: the agent can neither see nor change it."""
    with _grader_copy(grader_dir) as copy:
        result = await run_command(
            criterion.command,
            work_dir,
            timeout_s=criterion.timeout_ms / 1000,
            output_cap=SCRIPT_OUTPUT_CAP,
            read_only=(copy,) if copy else (),
            extra_env={"GRADER_DIR": str(copy)} if copy else None,
            grading=True,
        )
    base = EvalResult(criterion=label, method="script")
    if result.timed_out:
        base.details = f"eval script timed out after {criterion.timeout_ms / 1000:g} s"
        return base
    protocol = read_protocol_line(result.stdout)
    if protocol and "infraError" in protocol:
        base.infra_error = str(protocol["infraError"])
        return base
    if result.exit_code != criterion.expected_exit_code:
        tail = (result.stderr or result.stdout).strip()[-500:]
        base.details = (
            f"exit code {result.exit_code}, expected {criterion.expected_exit_code}: {tail}"
        )
        return base
    if protocol and isinstance(protocol.get("checkpoints"), list) and protocol["checkpoints"]:
        base.score, base.passed, base.checkpoints = scored_from_checkpoints(protocol["checkpoints"])
        failed = [c.name for c in base.checkpoints if c.score < PASS_MARK]
        base.details = (
            f"{len(base.checkpoints) - len(failed)}/{len(base.checkpoints)} checkpoints passed"
            + (f"; failed: {', '.join(failed)}" if failed else "")
        )
        return base
    if criterion.expected_output is not None:
        matched = result.stdout.strip() == criterion.expected_output.strip()
        base.score, base.passed = (1.0, True) if matched else (0.0, False)
        base.details = (
            "output matches"
            if matched
            else f"output {result.stdout.strip()[:200]!r} differs from the expected"
        )
        return base
    base.score, base.passed, base.details = 1.0, True, "exit code matches"
    return base


@contextlib.contextmanager
def _grader_copy(grader_dir: Path | None):
    if grader_dir is None or not grader_dir.is_dir():
        yield None
        return
    scratch = Path(tempfile.mkdtemp(prefix="skvm-grader-"))
    try:
        copy = scratch / "grader"
        shutil.copytree(grader_dir, copy, symlinks=True)
        for path in [copy, *copy.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        scratch.chmod(0o755)
        yield copy
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def grade_file_check(criterion: FileCheckCriterion, work_dir: Path, label: str) -> EvalResult:
    base = EvalResult(criterion=label, method="file-check")
    root = work_dir.resolve()
    if criterion.glob:
        # Only files that really lie in the folder count: a link the agent made to a host
        # file or folder is not its output.
        matches = sorted(p for p in root.glob(criterion.glob) if inside(root, p) is not None)
        path = matches[0] if matches else None
    else:
        path = root / (criterion.path or "")
        if inside(root, path) is None:
            base.details = f"path {criterion.path!r} leaves the work folder"
            return base
    name = criterion.glob or criterion.path
    text = read_text(root, path) if path is not None else None
    if text is None:
        base.details = f"{name} does not exist (or is not a regular file in the work folder)"
        return base
    ok, reason = _check_text(criterion.mode, text, criterion.expected)
    base.score, base.passed, base.details = (1.0 if ok else 0.0), ok, f"{name}: {reason}"
    return base


def _check_text(mode: str, text: str, expected: Any) -> tuple[bool, str]:
    if mode == "exact":
        ok = text.strip() == str(expected).strip()
        return ok, "exact match" if ok else "content differs"
    if mode == "contains":
        ok = str(expected) in text
        return (
            ok,
            f"contains {str(expected)[:60]!r}"
            if ok
            else f"does not contain {str(expected)[:60]!r}",
        )
    if mode == "regex":
        # A backtracking pattern on a large output can take minutes (a task's pattern or
        # an output made to trip it): the search is bounded, and a timeout fails the check.
        try:
            ok = regex.search(str(expected), text, timeout=REGEX_TIMEOUT_S) is not None
        except regex.error as exc:
            return False, f"bad pattern in task: {exc}"
        except TimeoutError:
            return False, f"the pattern took longer than {REGEX_TIMEOUT_S:g} s on this output"
        return ok, "pattern found" if ok else "pattern not found"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return False, f"not valid JSON: {exc}"
    schema = expected if isinstance(expected, dict) else json.loads(str(expected))
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    errors = sorted(validator_class(schema).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(root)"
        return False, f"schema violation at {where}: {first.message}"
    return True, "matches the schema"


_GRADE_RUNNER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("skvm_grade", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with open(sys.argv[2]) as handle:
    transcript = json.load(handle)
print(json.dumps(module.grade(transcript, sys.argv[3])))
"""


def transcript_of(task: Task, run: RunResult) -> list[dict[str, Any]]:
    """The run as the reference's python-grade transcript (messages with tool items)."""
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "message": {"role": "user", "content": [{"type": "text", "text": task.prompt}]},
        }
    ]
    for step in run.steps:
        content: list[dict[str, Any]] = []
        if step.text:
            content.append({"type": "text", "text": step.text})
        content += [
            {"type": "toolCall", "name": t.call.name, "params": t.call.arguments}
            for t in step.tools
        ]
        items.append({"type": "message", "message": {"role": "assistant", "content": content}})
        for tool in step.tools:
            items.append(
                {
                    "type": "message",
                    "message": {
                        "role": "toolResult",
                        "toolName": tool.call.name,
                        "content": [{"type": "text", "text": tool.output}],
                    },
                }
            )
    return items


async def grade_python(
    source: str, task: Task, run: RunResult, label: str, timeout_s: float
) -> EvalResult:
    base = EvalResult(criterion=label, method="python-grade")
    # The grader's own files live outside the work folder, out of the agent's reach (a link
    # it planted there cannot redirect them), and are mounted read-only for the command.
    scratch = Path(tempfile.mkdtemp(prefix="skvm-grade-"))
    try:
        (scratch / "grade_fn.py").write_text(source, "utf-8")
        (scratch / "runner.py").write_text(_GRADE_RUNNER, "utf-8")
        (scratch / "transcript.json").write_text(json.dumps(transcript_of(task, run)), "utf-8")
        scratch.chmod(0o755)
        for file in scratch.iterdir():
            file.chmod(0o644)
        # -I: no user site, no PYTHON* variables, no script folder on the path.
        command = f"python3 -I {scratch / 'runner.py'} {scratch / 'grade_fn.py'} {scratch / 'transcript.json'} {run.work_dir}"
        result = await run_command(
            command,
            run.work_dir,
            timeout_s=timeout_s,
            output_cap=SCRIPT_OUTPUT_CAP,
            read_only=(scratch,),
            grading=True,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.timed_out or result.exit_code != 0:
        base.details = (
            f"grade() failed: {(result.stderr or result.stdout).strip()[-500:] or 'timed out'}"
        )
        return base
    try:
        checks = json.loads(result.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        checks = None
    problem = _invalid_checks(checks)
    if problem:
        base.details = f"grade() returned an invalid result: {problem}"
        return base
    base.checkpoints = [
        Checkpoint(
            name=str(c["id"]),
            score=float(c["score"]),
            weight=float(c["weight"]),
            reason=str(c.get("details") or c.get("description") or f"scored {c['score']}"),
        )
        for c in checks
    ]
    base.score = sum(c.score * (c.weight or 0) for c in base.checkpoints)
    base.passed = base.score >= PASS_MARK
    base.details = f"weighted score {base.score:.2f} over {len(checks)} checks"
    return base


def _invalid_checks(checks: Any) -> str | None:
    if not isinstance(checks, list) or not checks:
        return "expected a non-empty list of checks"
    ids = set()
    for check in checks:
        if not isinstance(check, dict) or not {"id", "score", "weight"} <= set(check):
            return "each check needs id, score and weight"
        if check["id"] in ids:
            return f"duplicate check id {check['id']!r}"
        ids.add(check["id"])
        try:
            score, weight = float(check["score"]), float(check["weight"])
        except (TypeError, ValueError):
            return f"check {check['id']!r} has a non-numeric score or weight"
        if not 0 <= score <= 1 or weight < 0:
            return f"check {check['id']!r}: score must be in [0, 1] and weight ≥ 0"
    total = sum(float(c["weight"]) for c in checks)
    if abs(total - 1) > 1e-3:
        return f"weights sum to {total:.4f}, not 1"
    return None
