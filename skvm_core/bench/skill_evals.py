"""skill-creator evals (`evals/evals.json` inside a skill) ↔ native task folders.

Each eval becomes a task that names the skill. An expectation stated in one of the forms a
program can check (a file exists, contains a text, matches a pattern, is JSON with keys, a
CSV with a header, a command exits 0) becomes that check; every other expectation becomes
an llm-judge criterion, which is skipped, and said so, when no judge model is configured.
The expectation's own words are kept as the criterion's name, so exporting the tasks back
writes the evals as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from skvm_core.bench.imported import ImportResult, asset_problem, replaceable
from skvm_core.errors import SkvmError
from skvm_core.run.expectations import expectation_criterion
from skvm_core.run.task import Task
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.beneath import UnsafePath, copy_file_beneath
from skvm_core.store.names import folder_name

EVALS_FILE = Path("evals") / "evals.json"
FORMAT = "skill-creator-evals"


class SkillEval(BaseModel):
    id: int | str
    prompt: str = Field(min_length=1)
    expected_output: str = ""
    files: list[str] = Field(default_factory=list)
    expectations: list[str] = Field(default_factory=list)


class SkillEvals(BaseModel):
    skill_name: str = ""
    evals: list[SkillEval]


def _evals_file(path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_file() else path / EVALS_FILE


def load_evals(path: Path) -> tuple[SkillEvals, Path]:
    """The evals of a skill folder (or an evals.json), and the skill folder they belong to."""
    file = _evals_file(path)
    try:
        evals = SkillEvals.model_validate_json(file.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise SkvmError(
            f"{file}: no such evals file", hint="pass a skill folder holding evals/evals.json"
        ) from exc
    except (ValidationError, ValueError) as exc:
        raise SkvmError(
            f"{file}: not a skill-creator evals file ({str(exc).splitlines()[0]})",
            hint="see skill-creator's references/schemas.md for the evals.json format",
        ) from exc
    skill_root = file.parent.parent if file.parent.name == "evals" else file.parent
    return evals, skill_root


def import_skill_evals(path: Path, out_root: Path) -> list[ImportResult]:
    evals, skill_root = load_evals(path)
    skill = evals.skill_name or skill_root.name
    results = []
    for item in evals.evals:
        results.append(_import_one(item, skill, skill_root, _evals_file(path), out_root))
    return results


def _import_one(
    item: SkillEval, skill: str, skill_root: Path, source: Path, out_root: Path
) -> ImportResult:
    task_id = f"{folder_name(skill)[:60]}-eval-{folder_name(str(item.id))[:40]}"
    result = ImportResult(source=f"{source}#{item.id}", task_id=task_id)
    folder = out_root / task_id
    if not replaceable(folder):
        result.skipped = f"{folder} exists and was not written by an import; remove it first"
        return result
    criteria = [expectation_criterion(text) for text in item.expectations]
    if not criteria:
        if not item.expected_output:
            result.skipped = "the eval states neither expectations nor an expected output"
            return result
        criteria = [{"method": "llm-judge", "rubric": item.expected_output}]
    judged = sum(1 for c in criteria if c["method"] == "llm-judge")
    if judged:
        result.notes.append(
            f"{judged} of {len(criteria)} expectation(s) need a judge model (llm-judge); "
            "without one they are skipped"
        )
    fixtures = folder / "fixtures"
    for name in item.files:
        problem = asset_problem(skill_root, skill_root / name, name)
        if problem:
            result.skipped = f"input file {name!r}: {problem.removeprefix(f'asset {name} ')}"
            return result
        try:
            fixtures.mkdir(parents=True, exist_ok=True)
            copy_file_beneath(skill_root / name, fixtures, name, replace=True)
        except (UnsafePath, OSError) as exc:
            result.skipped = f"input file {name!r} cannot be copied: {exc}"
            return result
    task = {
        "id": task_id,
        "prompt": item.prompt,
        "gradingType": "automated"
        if not judged
        else "llm_judge"
        if judged == len(criteria)
        else "hybrid",
        "skill": str(skill_root.resolve()),
        "eval": criteria,
        "origin": {
            "format": FORMAT,
            "source": str(source),
            "id": item.id,
            "expected_output": item.expected_output,
            "files": item.files,
        },
    }
    Task.model_validate(task)  # what is written loads again
    atomic_write_text(folder / "task.json", json.dumps(task, indent=2) + "\n")
    result.task_dir = str(folder)
    return result


def criterion_expectation(criterion) -> str:
    """An expectation in words for a criterion: its own words when it came from one,
    else a sentence in a form the importer reads back as the same check."""
    if criterion.name:
        return criterion.name
    method = criterion.method
    if method == "llm-judge":
        rubric = criterion.rubric
        return (
            rubric if isinstance(rubric, str) else "; ".join(f"{k}: {v}" for k, v in rubric.items())
        )
    if method == "script":
        return f"`{criterion.command}` exits 0"
    if method == "file-check" and criterion.path:
        if criterion.mode == "contains":
            return f"{criterion.path} contains {json.dumps(str(criterion.expected))}"
        if criterion.mode == "regex":
            return f"{criterion.path} matches the pattern `{criterion.expected}`"
        if criterion.mode == "json-schema":
            keys = (
                (criterion.expected or {}).get("required")
                if isinstance(criterion.expected, dict)
                else None
            )
            if keys:
                return f"{criterion.path} is a JSON object with keys " + ", ".join(
                    f'"{k}"' for k in keys
                )
            return f"{criterion.path} is valid JSON"
        return f"{criterion.path} is exactly {json.dumps(str(criterion.expected))}"
    return f"the {method} check passes"


def export_skill_evals(tasks: list[Task], skill_name: str) -> dict:
    """Tasks as a skill-creator evals.json document (input files as the task names them)."""
    evals = []
    for number, task in enumerate(tasks, start=1):
        origin = task.origin if isinstance(task.origin, dict) else {}
        from_evals = origin.get("format") == FORMAT
        files = (
            origin.get("files")
            if from_evals
            else sorted(
                p.relative_to(task.fixtures_dir).as_posix()
                for p in (task.fixtures_dir.rglob("*") if task.fixtures_dir else [])
                if p.is_file()
            )
        )
        evals.append(
            {
                "id": origin.get("id", number) if from_evals else number,
                "prompt": task.prompt,
                "expected_output": origin.get("expected_output", "") if from_evals else "",
                "files": files or [],
                "expectations": [criterion_expectation(c) for c in task.eval],
            }
        )
    return {"skill_name": skill_name, "evals": evals}
