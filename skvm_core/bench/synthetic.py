"""Synthetic tasks for a skill that has none, from its contract: the example inputs the
compiler wrote (or the skill's own examples), the contract's checks on every output, and,
where synthesis agreed on a script, the outputs it agreed on as expected values. Each task
says it is synthetic and where it came from; they live apart from hand-written tasks."""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
from pathlib import Path

from skvm_core.compile.contract import Contract, FileShape, extract_contract
from skvm_core.compile.synthesis import (
    FileOption,
    Synthesis,
    file_options,
    stored_synthesis,
    value_options,
)
from skvm_core.errors import SkvmError
from skvm_core.run.checks import CheckSpec, check_criterion
from skvm_core.run.task import Task, discover_tasks
from skvm_core.skill import Skill
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.names import folder_name
from skvm_core.store.workspace import Workspace

SYNTHETIC = "synthetic"
RUN_TIMEOUT_S = 20.0


def synthetic_folder(workspace: Workspace, skill: Skill) -> Path:
    """Apart from the hand-written tasks (`run.authoring.task_roots` never looks here)."""
    return workspace.root / "synthetic-tasks" / folder_name(skill.name)


def _place(option: FileOption) -> str:
    """Where the task's file is: the name the skill gives it, else the compiler's name."""
    return option.shape.path or option.example


def _checks(contract: Contract, shape: FileShape, place: str) -> list[CheckSpec]:
    checks = [CheckSpec(kind="exists", file=place, name=f"{place} is written")]
    if shape.format == "csv" and shape.csv_header:
        checks.append(CheckSpec(kind="csv-header", file=place, value=",".join(shape.csv_header)))
    if shape.format == "json" and shape.json_example:
        try:
            example = json.loads(shape.json_example)
        except ValueError:
            example = None
        keys = ", ".join(example) if isinstance(example, dict) else ""
        checks.append(CheckSpec(kind="json-keys", file=place, value=keys))
    if shape.format == "lines" and shape.line_pattern:
        # Every non-blank line starts the way the skill's example lines do.
        checks.append(
            CheckSpec(
                kind="regex",
                file=place,
                value=rf"\A(?:[ \t]*(?:(?:{shape.line_pattern})[^\n]*)?\r?(?:\n|\Z))+\Z",
                name=f"every line of {place} is shaped like the skill's example",
            )
        )
    return checks


def _prompt(skill: Skill, inputs: list[str], outputs: list[str], values: dict[str, str]) -> str:
    said = f"Use the {skill.name} skill on {', '.join(inputs)} and write {', '.join(outputs)}."
    for clause, value in values.items():
        said += f" Use {value} for {clause}."
    return said


def _values(values, synthesis: Synthesis | None) -> dict[str, str]:
    """The value each option is given, as the prompt says it: the one the agreed command
    ran with (the compiler model chose those without a stated default), else the default."""
    given: dict[str, str] = {}
    if synthesis is not None and synthesis.command:
        words = shlex.split(synthesis.command)
        given = {w: n for w, n in zip(words, words[1:], strict=False) if w.startswith("--")}
    found = {}
    for value in values:
        chosen = given.get(value.flag) or value.example
        if chosen:
            found[value.parameter.clause or value.parameter.name] = chosen
    return found


def _agreed_outputs(
    synthesis: Synthesis, inputs: dict[str, str], outputs: list[FileOption]
) -> dict[str, str] | None:
    """What the agreed script writes on these inputs (None when it does not run cleanly)."""
    from skvm_core.agent.sandbox import run_command
    from skvm_core.compile.verify import scratch_layout

    files = {path: text.encode() for path, text in inputs.items()}
    files[synthesis.script_path] = synthesis.script.encode()
    with scratch_layout(files) as scratch:
        result = asyncio.run(
            run_command(synthesis.command, scratch, timeout_s=RUN_TIMEOUT_S, output_cap=8_000)
        )
        if result.timed_out or result.exit_code != 0:
            return None
        written = {}
        for option in outputs:
            path = scratch / option.example
            if not path.is_file() or path.is_symlink():
                return None
            written[option.example] = path.read_text("utf-8", errors="replace")
    return written


def _example_sets(contract: Contract, synthesis: Synthesis | None, options) -> list[dict[str, str]]:
    """Input sets: the compiler's examples (ordinary, then special cases), else the inputs
    the skill itself shows."""
    sets = []
    if synthesis is not None:
        sets = [s for s in (synthesis.examples, synthesis.edge_examples) if s]
    if sets:
        return sets
    own = {}
    for option in options:
        if option.shape.role != "input":
            continue
        shown = option.shape.json_example or "\n".join(option.shape.line_example)
        if not shown.strip():
            return []
        own[option.example] = shown.rstrip("\n") + "\n"
    return [own] if own else []


def _synthesis(skill: Skill, workspace: Workspace, model: str, run: bool) -> Synthesis | None:
    """The stored synthesis for the skill; with `run`, synthesised now when there is none
    (the compiler model's work, minutes on a local model)."""
    options = {"synthesis_model": model}
    if not run:
        return stored_synthesis(skill, model, options, workspace.compile_cache)
    from skvm_core.compile.manager import PassContext
    from skvm_core.compile.synthesis import cached_synthesis

    return cached_synthesis(
        skill, model, options, PassContext(views={}, cache_dir=workspace.compile_cache)
    )


def write_synthetic_tasks(
    skill: Skill,
    workspace: Workspace,
    synthesis_model: str | None = None,
    run_synthesis: bool = False,
) -> list[Path]:
    """The skill's synthetic tasks, written anew (the old ones replaced). Raises when the
    skill's text gives nothing to build a task from, saying what is missing."""
    contract = extract_contract(skill)
    if not contract.computable:
        raise SkvmError(
            f"{skill.name} names no input and output files, so no task can be built from its text",
            hint="write one: `skvm task new`, or n in the workbench",
        )
    options = file_options(contract)
    values = value_options(contract, options)
    synthesis = (
        _synthesis(skill, workspace, synthesis_model, run_synthesis) if synthesis_model else None
    )
    sets = _example_sets(contract, synthesis, options)
    if not sets:
        raise SkvmError(
            f"{skill.name} shows no example input, and no synthesis has written one",
            hint="`skvm task synthesise --skill DIR --run-synthesis` has the synthesis model write "
            "example inputs (and, where its candidates agree, expected outputs)",
        )
    root = synthetic_folder(workspace, skill)
    staging = root.with_name(root.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    outputs = [o for o in options if o.shape.role == "output"]
    inputs = [o for o in options if o.shape.role == "input"]
    agreed = synthesis is not None and synthesis.offered and synthesis.script
    from_synthesis = synthesis is not None and sets[0] in (
        synthesis.examples,
        synthesis.edge_examples,
    )
    written = []
    for number, example in enumerate(sets, 1):
        expected = _agreed_outputs(synthesis, example, outputs) if agreed else None
        checks = [c for o in outputs for c in _checks(contract, o.shape, _place(o))]
        if expected:
            checks += [
                CheckSpec(
                    kind="equals",
                    file=_place(o),
                    value=expected[o.example],
                    name=f"{_place(o)} equals what the agreed script wrote",
                )
                for o in outputs
            ]
        task_id = f"{folder_name(skill.name)[:80]}-synthetic-{number}"
        task = {
            "id": task_id,
            "category": SYNTHETIC,
            "prompt": _prompt(
                skill,
                [_place(o) for o in inputs],
                [_place(o) for o in outputs],
                _values(values, synthesis),
            ),
            "skill": str(skill.root.resolve()),
            "eval": [check_criterion(c) for c in checks],
            "fixtures": {_place(o): example[o.example] for o in inputs if o.example in example},
            "origin": _origin(synthesis, from_synthesis, expected is not None and bool(expected)),
        }
        Task.model_validate(task)
        folder = staging / task_id
        atomic_write_text(folder / "task.json", json.dumps(task, indent=2) + "\n")
        written.append(root / task_id)
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(root)
    return written


def _origin(synthesis: Synthesis | None, from_synthesis: bool, agreed: bool) -> dict[str, str]:
    """Where a synthetic task came from, said in its own file."""
    return {
        "format": SYNTHETIC,
        "from": "the skill's contract"
        + (f" and synthesis by {synthesis.model}" if synthesis else ""),
        "inputs": "the compiler's example inputs" if from_synthesis else "the skill's own examples",
        "expected": (
            f"outputs {synthesis.agreement[0]} of {synthesis.agreement[1]} candidate scripts agreed on"
            if agreed and synthesis is not None
            else "none: the contract's checks only"
        ),
    }


def synthetic_tasks(skill: Skill, workspace: Workspace) -> list[Task]:
    root = synthetic_folder(workspace, skill)
    return discover_tasks(root) if root.is_dir() else []


def tasks_or_synthetic(
    skill: Skill, workspace: Workspace, synthesis_model: str | None = None
) -> tuple[list[Task], bool]:
    """The skill's hand-written tasks; when it has none, its synthetic tasks (written now
    when there are none yet). The flag says which, so callers say it too."""
    from skvm_core.run.authoring import tasks_for_skill

    written = tasks_for_skill(skill, workspace)
    if written:
        return written, False
    made = synthetic_tasks(skill, workspace)
    if not made:
        write_synthetic_tasks(skill, workspace, synthesis_model)
        made = synthetic_tasks(skill, workspace)
    return made, True
