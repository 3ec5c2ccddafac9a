"""`task.json`, compatible with the reference format, plus its folder (fixtures, grade.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from skvm_core.errors import SkvmError


class TaskError(SkvmError):
    """A task file cannot be used."""


class _Criterion(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = None
    name: str | None = None
    weight: float = Field(default=1.0, ge=0)


class ScriptCriterion(_Criterion):
    method: Literal["script"]
    command: str
    expected_exit_code: int = Field(default=0, alias="expectedExitCode")
    expected_output: str | None = Field(default=None, alias="expectedOutput")
    timeout_ms: int = Field(default=120_000, alias="timeoutMs", gt=0)


class FileCheckCriterion(_Criterion):
    method: Literal["file-check"]
    path: str | None = None
    glob: str | None = None
    mode: Literal["exact", "contains", "regex", "json-schema"]
    expected: Any

    @field_validator("expected")
    @classmethod
    def _expected_shape(cls, value: Any, info) -> Any:
        if value is None:
            raise ValueError("expected is required")
        return value


class PythonGradeCriterion(_Criterion):
    method: Literal["python-grade"]
    file: str = "grade.py"
    timeout_ms: int = Field(default=120_000, alias="timeoutMs", gt=0)


class CustomCriterion(_Criterion):
    method: Literal["custom"]
    evaluator_id: str = Field(alias="evaluatorId")
    payload: Any = None


class LlmJudgeCriterion(_Criterion):
    method: Literal["llm-judge"]
    rubric: str | dict[str, str]
    max_score: float = Field(default=1.0, alias="maxScore", gt=0)


Criterion = Annotated[
    ScriptCriterion
    | FileCheckCriterion
    | PythonGradeCriterion
    | CustomCriterion
    | LlmJudgeCriterion,
    Field(discriminator="method"),
]


# Task ids become folder names (runs, bench records): a name, never a path.
TASK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Task(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(pattern=TASK_ID_PATTERN)
    name: str | None = None
    category: str = "general"
    grading_type: Literal["automated", "llm_judge", "hybrid"] = Field(
        default="automated", alias="gradingType"
    )
    prompt: str
    timeout_ms: int = Field(default=120_000, alias="timeoutMs", gt=0)
    max_steps: int = Field(default=30, alias="maxSteps", ge=1, le=500)
    eval: list[Criterion] = Field(default_factory=list)
    fixtures: dict[str, str] = Field(default_factory=dict)  # inline files: relpath → text
    grading_weights: dict[str, float] | None = Field(default=None, alias="gradingWeights")
    # A run passes when every criterion passes, unless the task declares a score to reach.
    pass_threshold: float | None = Field(default=None, alias="passThreshold", ge=0.0, le=1.0)
    skill: str | list[str] | None = None
    difficulty: Literal["easy", "medium", "hard"] | None = None
    host_ready: bool = Field(default=True, alias="hostReady")
    allowed_hosts: list[str] | None = Field(default=None, alias="allowedHosts")
    origin: dict[str, Any] | None = None
    # Where the task was loaded from (not part of the JSON).
    task_dir: Path | None = Field(default=None, exclude=True)

    @property
    def synthetic(self) -> bool:
        """Built from the skill's contract, not written by a person: reported apart."""
        return bool(self.origin) and self.origin.get("format") == "synthetic"

    @property
    def fixtures_dir(self) -> Path | None:
        if self.task_dir is None:
            return None
        path = self.task_dir / "fixtures"
        return path if path.is_dir() else None

    def skill_paths(self) -> list[Path]:
        if not self.skill:
            return []
        entries = [self.skill] if isinstance(self.skill, str) else self.skill
        base = self.task_dir or Path.cwd()
        return [(base / entry).resolve() for entry in entries]


def load_task(path: str | Path) -> Task:
    """Load `task.json` (or the folder holding it)."""
    file = Path(path).expanduser()
    if file.is_dir():
        file = file / "task.json"
    try:
        data = json.loads(file.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise TaskError(
            f"{file}: no such task file", hint="pass a task.json or the folder that holds one"
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TaskError(f"{file}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise TaskError(f"{file}: a task must be a JSON object")
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TaskError(
            f"{file}: `{where}`: {first['msg']}", hint="see the task.json format in the README"
        ) from exc
    task.task_dir = file.parent.resolve()
    return task


def discover_tasks(root: str | Path) -> list[Task]:
    """Every task folder under `root` (folders starting with `_` or `.` are skipped)."""
    base = Path(root)
    found = []
    for file in sorted(base.rglob("task.json")):
        if any(part.startswith(("_", ".")) for part in file.relative_to(base).parts[:-1]):
            continue
        found.append(load_task(file))
    return found
