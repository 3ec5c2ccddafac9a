"""The scoring vocabulary shared by profile checks and bench graders: checkpoints and one
criterion's result, and the eval-script protocol's checkpoint line.

Kept outside both packages so that neither imports the other for it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from skvm_core.llm.types import Usage

# A checkpoint passes at this score (the reference's eval-script protocol).
PASS_MARK = 0.5


class Checkpoint(BaseModel):
    name: str
    score: float
    weight: float | None = None
    reason: str = ""


class EvalResult(BaseModel):
    criterion: str
    method: str
    weight: float = 1.0
    score: float = 0.0
    passed: bool = False
    details: str = ""
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    infra_error: str | None = None
    judge_usage: Usage | None = None  # the judge's own tokens, kept apart from the task's


def scored_from_checkpoints(raw: list[Any]) -> tuple[float, bool, list[Checkpoint]]:
    checkpoints = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        try:
            score = max(0.0, min(1.0, float(item.get("score", 0))))
        except (TypeError, ValueError):
            score = 0.0
        checkpoints.append(
            Checkpoint(
                name=str(item.get("name", f"check{index + 1}")),
                score=score,
                reason=str(item.get("reason", "")),
            )
        )
    if not checkpoints:
        return 0.0, False, []
    mean = sum(c.score for c in checkpoints) / len(checkpoints)
    return mean, all(c.score >= PASS_MARK for c in checkpoints), checkpoints
