"""Tasks for any skill: where a skill's tasks are found, and writing a new one from a prompt,
input files and expectations in words (the forms `bench.skill_evals` reads)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from skvm_core.errors import SkvmError
from skvm_core.run.checks import CheckSpec, check_criterion
from skvm_core.run.expectations import expectation_criterion
from skvm_core.run.task import TASK_ID_PATTERN, Task, TaskError, discover_tasks, load_task
from skvm_core.skill import Skill
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.names import folder_name
from skvm_core.store.workspace import Workspace


def workspace_tasks(workspace: Workspace, skill: Skill) -> Path:
    """The per-skill task folder in the workspace, for skills whose own folder is not ours
    to write (a user's `~/.claude/skills/…`, an installed skill)."""
    return workspace.root / "tasks" / folder_name(skill.name)


def task_roots(skill: Skill, workspace: Workspace) -> list[Path]:
    """Where the skill's tasks may be: beside it, inside it, and in the workspace."""
    return [skill.root.parent / "tasks", skill.root / "tasks", workspace_tasks(workspace, skill)]


def tasks_for_skill(skill: Skill, workspace: Workspace) -> list[Task]:
    """Tasks that name this skill, from every place `task_roots` lists (each once)."""
    found: dict[Path, Task] = {}
    for root in task_roots(skill, workspace):
        if not root.is_dir():
            continue
        for task in discover_tasks(root):
            names = task.skill_paths()
            if skill.root.resolve() in [p.resolve() for p in names] or skill.root.name in [
                p.name for p in names
            ]:
                found.setdefault(task.task_dir.resolve(), task)
    return list(found.values())


def new_task_folder(skill: Skill, workspace: Workspace) -> Path:
    """Where a new task is written: beside the skill when a `tasks/` folder is already
    there and writable (a project's layout), else the workspace's folder for the skill."""
    beside = skill.root.parent / "tasks"
    if beside.is_dir() and os.access(beside, os.W_OK):
        return beside
    return workspace_tasks(workspace, skill)


def write_new_task(
    skill: Skill,
    workspace: Workspace,
    *,
    prompt: str,
    expectations: list[str] = (),
    checks: list[CheckSpec] = (),
    files: list[Path] = (),
    files_root: Path | None = None,
    named_files: list[tuple[Path, str]] = (),
    task_id: str | None = None,
    origin: dict | None = None,
) -> Path:
    """A task folder for the skill: the prompt, copies of the input files as fixtures (at
    their path under `files_root`, else by name), one criterion per expectation in words and
    one per picked check. Nothing is written when any part is unusable."""
    if not prompt.strip():
        raise TaskError("a task needs a prompt", hint="say what the model should do")
    if not expectations and not checks:
        raise TaskError(
            "a task needs at least one check",
            hint='e.g. --expect "report.json exists" or --expect "out.csv has the header `a,b`"',
        )
    root = new_task_folder(skill, workspace)
    chosen = task_id or _free_id(root, folder_name(skill.name)[:80])
    if not re.match(TASK_ID_PATTERN, chosen):
        raise TaskError(f"{chosen!r} is not a usable task id", hint="letters, digits, . _ - only")
    folder = root / chosen
    if folder.exists():
        raise TaskError(f"{folder} exists", hint="choose another --id")
    placed = _fixture_names(files, files_root, named_files)
    criteria = [expectation_criterion(text) for text in expectations]
    criteria += [check_criterion(spec) for spec in checks]
    task = {
        "id": chosen,
        "prompt": prompt,
        "skill": os.path.relpath(skill.root.resolve(), folder.resolve()),
        "eval": criteria,
        "origin": origin or {"format": "authored"},
    }
    Task.model_validate(task)
    staging = root / f".{chosen}.new"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for file, relative in placed:
            (staging / "fixtures" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, staging / "fixtures" / relative)
        atomic_write_text(staging / "task.json", json.dumps(task, indent=2) + "\n")
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _fixture_names(
    files: list[Path], root: Path | None, named: list[tuple[Path, str]]
) -> list[tuple[Path, str]]:
    """Each input file with the path it gets under fixtures/ (links and missing files are
    refused, as are paths outside `root`); `named` files come with their path."""
    placed: dict[str, Path] = {}
    for file, relative in named:
        if file.is_symlink() or not file.is_file():
            raise TaskError(f"{file}: no such input file (or it is a link)")
        if relative.startswith("/") or ".." in relative.split("/") or relative in placed:
            raise TaskError(f"{relative!r} cannot be a fixture path")
        placed[relative] = file
    for file in files:
        if file.is_symlink() or not file.is_file():
            raise TaskError(f"{file}: no such input file (or it is a link)")
        if root is not None:
            try:
                relative = file.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                raise TaskError(f"{file} is not inside {root}") from None
        else:
            relative = file.name
        if relative in placed:
            raise TaskError(f"two input files would both be fixtures/{relative}")
        placed[relative] = file
    return [(file, relative) for relative, file in placed.items()]


def _free_id(root: Path, stem: str) -> str:
    number = 1
    while (root / f"{stem}-{number}").exists():
        number += 1
    return f"{stem}-{number}"


def check_task(path: Path) -> list[str]:
    """What is wrong with a task folder (empty when it loads and its files are there)."""
    try:
        task = load_task(path)
    except SkvmError as exc:
        return [str(exc)]
    problems = []
    for skill in task.skill_paths():
        if not (skill / "SKILL.md").is_file():
            problems.append(f"the skill it names is not there: {skill}")
    for criterion in task.eval:
        if criterion.method == "python-grade" and not (task.task_dir / criterion.file).is_file():
            problems.append(f"python-grade file {criterion.file} is missing")
    if not task.eval:
        problems.append("it has no checks (eval is empty), so every run would pass")
    return problems
