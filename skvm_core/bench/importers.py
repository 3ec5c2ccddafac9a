"""Importers: PinchBench task markdown and SkillsBench task folders → native task folders.

Imported tasks are written to a folder of the user's choice (the workspace by default),
never into the project. What cannot run on a plain host is reported with the reason and
not imported.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import yaml

from skvm_core.bench.imported import ImportResult, asset_problem, replaceable
from skvm_core.errors import SkvmError
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.beneath import UnsafePath, copy_file_beneath, copy_tree_beneath

_SECTION = re.compile(r"^## +(.+?)\s*$", re.MULTILINE)
_PYTHON_FENCE = re.compile(r"```python\s*\n(.*?)```", re.DOTALL)

# PinchBench's grade() returns {criterion: score}; ours expects weighted checks.
_PINCH_ADAPTER = '''

_pinchbench_grade = grade


def grade(transcript, workspace_path):
    """Adapter added by the importer: equal weights over PinchBench's named scores."""
    scores = _pinchbench_grade(transcript, workspace_path) or {}
    if not scores:
        return [{"id": "no_scores", "score": 0.0, "weight": 1.0}]
    weight = 1.0 / len(scores)
    return [{"id": str(name), "score": max(0.0, min(1.0, float(value))), "weight": weight} for name, value in scores.items()]
'''


def _sections(body: str) -> dict[str, str]:
    parts = _SECTION.split(body)
    return {parts[i].strip().lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def import_pinchbench(md_path: Path, out_root: Path) -> ImportResult:
    text = md_path.read_text("utf-8")
    result = ImportResult(source=str(md_path))
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n(.*)$", text, re.DOTALL)
    if not match:
        result.skipped = "no front matter"
        return result
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        result.skipped = f"front matter is not valid YAML: {exc}"
        return result
    sections = _sections(match.group(2))
    prompt = sections.get("prompt")
    if not prompt:
        result.skipped = "no ## Prompt section"
        return result
    task_id = md_path.stem
    if meta.get("id") and meta["id"] != task_id:
        result.notes.append(
            f"front matter id {meta['id']!r} differs from the file name; using {task_id!r}"
        )
    folder = out_root / task_id
    if not replaceable(folder):
        result.skipped = f"{folder} exists and is not a task imported by skvm; it was left alone"
        return result
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "fixtures").mkdir(parents=True)
    inline: dict[str, str] = {}
    assets = md_path.parent.parent / "assets"
    for entry in meta.get("workspace_files") or []:
        if "content" in entry and "path" in entry:
            inline[str(entry["path"])] = str(entry["content"])
        elif "source" in entry:
            source = assets / str(entry["source"])
            dest = str(entry.get("dest") or entry["source"])
            problem = asset_problem(assets, source, str(entry["source"]))
            try:
                if problem is None:
                    copy_file_beneath(source, folder / "fixtures", dest, replace=True)
            except UnsafePath as exc:
                problem = f"workspace file destination {dest!r}: {exc}"
            if problem:
                shutil.rmtree(folder)
                result.skipped = problem
                return result
    criteria: list[dict] = []
    grading = str(meta.get("grading_type", "automated"))
    code = _PYTHON_FENCE.search(sections.get("automated checks", ""))
    if code:
        atomic_write_text(folder / "grade.py", code.group(1) + _PINCH_ADAPTER)
        criteria.append({"method": "python-grade", "name": "automated checks"})
    rubric = sections.get("llm judge rubric")
    if rubric:
        criteria.append({"method": "llm-judge", "name": "judge rubric", "rubric": rubric})
    if not criteria:
        shutil.rmtree(folder)
        result.skipped = "no automated checks and no judge rubric"
        return result
    weights = meta.get("grading_weights") or (
        {"automated": 0.6, "llmJudge": 0.4} if grading == "hybrid" else None
    )
    if isinstance(weights, dict):
        weights = {
            ("llmJudge" if k in ("llm_judge", "llmJudge") else "automated"): float(v)
            for k, v in weights.items()
        }
    task = {
        "id": task_id,
        "name": meta.get("name", task_id),
        "category": meta.get("category", "general"),
        "gradingType": grading if grading in ("automated", "llm_judge", "hybrid") else "automated",
        "prompt": prompt,
        "timeoutMs": int(float(meta.get("timeout_seconds", 300)) * 1000),
        "maxSteps": 30,
        "eval": criteria,
        "fixtures": inline,
        "gradingWeights": weights,
        "origin": {
            "source": "pinchbench",
            "file": md_path.name,
            "notes": "; ".join(result.notes) or None,
        },
    }
    atomic_write_text(folder / "task.json", json.dumps(task, indent=2) + "\n")
    result.task_id, result.task_dir = task_id, str(folder)
    return result


def import_skillsbench(task_dir: Path, out_root: Path) -> ImportResult:
    result = ImportResult(source=str(task_dir))
    try:
        meta = tomllib.loads((task_dir / "task.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        result.skipped = f"task.toml unreadable: {exc}"
        return result
    environment = task_dir / "environment"
    image = str(meta.get("environment", {}).get("image", ""))
    if (environment / "Dockerfile").is_file() or (
        image and not re.match(r"python:3[\d.]*(-slim)?$", image)
    ):
        result.skipped = (
            f"needs a Docker environment ({image or 'Dockerfile'}); not runnable on a plain host"
        )
        return result
    tests = task_dir / "tests" / "test_outputs.py"
    if not tests.is_file():
        result.notes.append("no tests/test_outputs.py in this copy: runs are not scored")
    instruction = (task_dir / "instruction.md").read_text("utf-8")
    task_id = task_dir.name
    folder = out_root / task_id
    if not replaceable(folder):
        result.skipped = f"{folder} exists and is not a task imported by skvm; it was left alone"
        return result
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "fixtures").mkdir(parents=True)
    skills = (
        sorted(p.parent for p in (environment / "skills").glob("*/SKILL.md"))
        if (environment / "skills").is_dir()
        else []
    )
    # Regular files and folders only: a link in the task set would bring in the host
    # content behind it.
    for skill in skills:
        if not skill.is_symlink():
            copy_tree_beneath(skill, folder, f"skills/{skill.name}")
    for item in environment.iterdir() if environment.is_dir() else []:
        if item.name in ("skills", "Dockerfile") or item.is_symlink():
            continue
        if item.is_dir():
            copy_tree_beneath(item, folder, f"fixtures/{item.name}")
        elif item.is_file():
            copy_file_beneath(item, folder, f"fixtures/{item.name}", replace=True)
    if tests.is_file():
        # The tests are the grader's, outside the agent's reach (never in its work folder):
        # its own config and rootdir, so a planted conftest.py or pytest.ini is not read.
        (folder / "grader" / "tests").mkdir(parents=True)
        shutil.copyfile(tests, folder / "grader" / "tests" / "test_outputs.py")
        (folder / "grader" / "pytest.ini").write_text("[pytest]\n", "utf-8")
    check = (
        "python3 -c 'import pytest' 2>/dev/null || { echo '{\"infraError\": \"pytest is not installed for python3\"}'; exit 0; }\n"
        'python3 -m pytest -q -p no:cacheprovider -c "$GRADER_DIR/pytest.ini" '
        '--rootdir "$GRADER_DIR" --confcutdir "$GRADER_DIR" "$GRADER_DIR/tests/test_outputs.py"'
    )
    task = {
        "id": task_id,
        "name": task_id.replace("-", " "),
        "category": meta.get("metadata", {}).get("category", "general"),
        "prompt": instruction,
        "timeoutMs": int(float(meta.get("agent", {}).get("timeout_sec", 900)) * 1000),
        "maxSteps": 50,
        "eval": [
            {
                "method": "script",
                "name": "test_outputs.py",
                "command": check,
                "timeoutMs": int(float(meta.get("verifier", {}).get("timeout_sec", 900)) * 1000),
            }
        ]
        if tests.is_file()
        else [],
        "skill": [f"skills/{s.name}" for s in skills] or None,
        "difficulty": meta.get("metadata", {}).get("difficulty"),
        "origin": {
            "source": "skillsbench",
            "file": str(task_dir.name),
            "notes": "; ".join(result.notes) or None,
        },
    }
    atomic_write_text(folder / "task.json", json.dumps(task, indent=2) + "\n")
    result.task_id, result.task_dir = task_id, str(folder)
    return result


def import_path(path: Path, out_root: Path) -> list[ImportResult]:
    """A PinchBench .md file, a SkillsBench task folder, a skill with skill-creator evals
    (`evals/evals.json`), or a folder holding PinchBench or SkillsBench tasks."""
    path = path.expanduser()
    if path.is_file() and path.suffix == ".md":
        return [import_pinchbench(path, out_root)]
    if (path / "task.toml").is_file():
        return [import_skillsbench(path, out_root)]
    from skvm_core.bench.skill_evals import EVALS_FILE, import_skill_evals

    if (path / EVALS_FILE).is_file() or (path.is_file() and path.name == EVALS_FILE.name):
        return import_skill_evals(path, out_root)
    if path.is_dir():
        found: list[ImportResult] = []
        for md in sorted(path.rglob("task_*.md")):
            found.append(import_pinchbench(md, out_root))
        for toml in sorted(path.rglob("task.toml")):
            found.append(import_skillsbench(toml.parent, out_root))
        if found:
            return found
    raise SkvmError(
        f"nothing to import at {path}",
        hint="pass a PinchBench task .md, a SkillsBench task folder, a skill folder with evals/evals.json, or a folder of tasks",
    )
