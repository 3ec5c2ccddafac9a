"""A model's rewrite of the skill for what the rules cannot fix (wrong values): it sees
the skill and the training runs' failures, never a held-out score."""

from __future__ import annotations

import re

from skvm_core.errors import SkvmError
from skvm_core.optimize.repairs import Repair
from skvm_core.run.evidence import RunEvidence

_BLOCK = re.compile(r"```(?:markdown|md)?[ \t]*\n(.*)```", re.DOTALL)
MAX_GROWTH = 1.5  # a rewrite longer than this times the text is refused


def rewrite_prompt(text: str, evidence: list[RunEvidence]) -> str:
    failed = [e for e in evidence if not e.passed][:4]
    lines = []
    for run in failed:
        lines.append(f"- Task: {run.prompt[:300]}")
        for failure in run.failures[:3]:
            what = f"{failure.kind}: {failure.detail[:200]}"
            if failure.command:
                what += f" (command: {failure.command[:160]})"
            lines.append(f"  - {what}")
    return (
        "A small model used this skill and failed these tasks:\n"
        + "\n".join(lines)
        + "\n\nRewrite the skill so that the model succeeds: keep the front matter and every "
        "requirement, keep it as short as it is now, and make the steps concrete commands. "
        "Reply with the whole new SKILL.md in one ```markdown block.\n\n"
        f"```markdown\n{text}\n```"
    )


async def propose_rewrite(text: str, evidence: list[RunEvidence], model: str) -> Repair:
    from skvm_core.llm import CallOptions, complete

    messages = [
        {"role": "system", "content": "You improve agent skills for small models."},
        {"role": "user", "content": rewrite_prompt(text, evidence)},
    ]
    response = await complete(model, messages, options=CallOptions(max_tokens=2048))
    match = _BLOCK.search(response.text)
    proposed = (match.group(1) if match else "").strip() + "\n"
    problem = rewrite_problem(text, proposed)
    if problem:
        raise SkvmError(f"the rewrite by {model} was refused: {problem}")
    runs = sorted({e.run_id for e in evidence if not e.passed})
    return Repair(
        rule=f"rewrite:{model}",
        kind="wrong_value",
        summary=f"rewritten by {model} from {len(runs)} failed training runs",
        runs=runs,
        text_before=text,
        text_after=proposed,
    )


def rewrite_problem(before: str, after: str) -> str:
    """Why a rewrite cannot replace the text ("" when it can)."""
    if not after.strip():
        return "it was empty"
    head = re.match(r"---\n(.*?)\n---", before, re.DOTALL)
    if head and not after.startswith("---"):
        return "the front matter was dropped"
    name = re.search(r"^name:\s*(\S+)", before, re.M)
    if name and f"name: {name.group(1)}" not in after:
        return "the skill's name changed"
    if len(after) > MAX_GROWTH * len(before):
        return f"it is {len(after) / len(before):.1f}× as long"
    return ""
