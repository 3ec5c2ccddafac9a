"""The llm-judge grader: a rubric, the run's trace and the work folder's text files, scored
by a judge model through the model layer. Its tokens are counted apart from the task's, and
a provider failure is an infrastructure skip, never a 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

from skvm_core.agent.result import RunResult
from skvm_core.errors import InfraError, SkvmError
from skvm_core.grading import EvalResult
from skvm_core.llm.client import CallOptions, complete
from skvm_core.llm.types import ToolSchema
from skvm_core.run.task import LlmJudgeCriterion
from skvm_core.run.workfiles import read_text, regular_files

FILE_CHARS = 10_000
TOTAL_FILE_CHARS = 30_000
SKIP_PARTS = {".git", ".tmp", ".skvm-grade", "node_modules", "skills", "__pycache__"}
BINARY_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".pdf",
    ".xlsx",
    ".docx",
    ".pptx",
    ".zip",
    ".gz",
    ".db",
    ".bin",
    ".pyc",
}
SCORE_TOOL = ToolSchema(
    name="submit_score",
    description="Submit the score for the agent's work and the reasoning behind it.",
    parameters={
        "type": "object",
        "properties": {"score": {"type": "number"}, "reasoning": {"type": "string"}},
        "required": ["score", "reasoning"],
    },
)


def render_rubric(rubric: str | dict[str, str]) -> str:
    if isinstance(rubric, str):
        return rubric
    ordered = sorted(
        rubric.items(),
        key=lambda item: -float(item[0]) if item[0].replace(".", "", 1).isdigit() else 0,
    )
    return "\n".join(f"Score {score}: {text}" for score, text in ordered)


def work_files(work_dir: Path) -> str:
    pieces, used = [], 0
    for path in regular_files(work_dir):
        relative = path.relative_to(work_dir)
        if path.suffix.lower() in BINARY_SUFFIXES or any(
            p in SKIP_PARTS or p.startswith(".") for p in relative.parts
        ):
            continue
        text = read_text(work_dir, path, FILE_CHARS * 4)
        if text is None:
            continue
        text = text[:FILE_CHARS]
        if used + len(text) > TOTAL_FILE_CHARS:
            break
        used += len(text)
        pieces.append(f"--- {relative.as_posix()} ---\n{text}")
    return "\n".join(pieces) or "(no text files)"


def trace_text(run: RunResult) -> str:
    lines = []
    for step in run.steps:
        if step.text:
            lines.append(f"[step {step.index}] {step.text[:1000]}")
        for tool in step.tools:
            lines.append(f"Tool: {tool.call.name}({json.dumps(tool.call.arguments)[:500]})")
            lines.append(f"Output: {tool.output[:1000]}")
    return "\n".join(lines) or "(no steps)"


async def grade_llm_judge(
    criterion: LlmJudgeCriterion, prompt: str, run: RunResult, label: str, judge_model: str | None
) -> EvalResult:
    base = EvalResult(criterion=label, method="llm-judge")
    if not judge_model:
        base.infra_error = (
            "no judge model is configured (set judge_model in skvm.toml or SKVM_JUDGE_MODEL)"
        )
        return base
    message = (
        "You grade an AI agent's work on a task. Score it against the rubric, from 0 to "
        f"{criterion.max_score:g}, and call submit_score.\n\n# Task\n{prompt}\n\n# Rubric\n{render_rubric(criterion.rubric)}\n\n"
        f"# What the agent did\n{trace_text(run)}\n\n# Final answer\n{run.final_text or '(none)'}\n\n# Files in the work folder\n{work_files(run.work_dir)}"
    )
    try:
        response = await complete(
            judge_model,
            [{"role": "user", "content": message}],
            [SCORE_TOOL],
            options=CallOptions(max_tokens=2048),
        )
    except InfraError as exc:
        base.infra_error = f"judge unavailable: {exc.message}"
        return base
    except SkvmError as exc:
        base.infra_error = f"judge model unusable: {exc.message}"
        return base
    base.details = f"judge usage {response.usage.input}+{response.usage.output} tokens"
    base.judge_usage = response.usage
    score, reasoning = _read_score(response)
    if score is None:
        base.details += "; the judge gave no readable score"
        return base
    base.score = max(0.0, min(criterion.max_score, score)) / criterion.max_score
    base.passed = base.score >= 0.5
    base.details = f"{reasoning[:300]} ({base.details})"
    return base


def _read_score(response) -> tuple[float | None, str]:
    for call in response.tool_calls:
        if call.name == "submit_score":
            try:
                return float(call.arguments.get("score")), str(call.arguments.get("reasoning", ""))
            except (TypeError, ValueError):
                pass
    match = re.search(r'"score"\s*:\s*"?(-?\d+(?:\.\d+)?)', response.text) or re.search(
        r"score\D{0,10}(-?\d+(?:\.\d+)?)", response.text, re.IGNORECASE
    )
    return (float(match.group(1)), response.text) if match else (None, response.text)
