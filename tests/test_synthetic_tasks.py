"""Synthetic tasks: a skill with no tasks gets tasks built from its contract, marked
synthetic, kept apart from hand-written ones, used by bench and optimize, and reported apart."""

import asyncio
import json
from pathlib import Path

import pytest

from skvm_core.bench.orchestrator import RunRecord
from skvm_core.bench.report import build_report, to_markdown
from skvm_core.bench.synthetic import (
    synthetic_folder,
    synthetic_tasks,
    tasks_or_synthetic,
    write_synthetic_tasks,
)
from skvm_core.compile.contract import extract_contract
from skvm_core.compile.synthesis import Synthesis, _stored_path
from skvm_core.errors import SkvmError
from skvm_core.run.runner import run_task
from skvm_core.run.task import load_task
from skvm_core.skill import load_skill
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.workspace import Workspace

SKILL = """---
name: parcel-weights
description: Add up parcel weights per courier from a shipping log. Use when asked how much each courier carried.
---

# Parcel weights

## Input

A CSV shipping log with a header row, for example:

```text
courier,grams
Swift,1200
Swift,300
Ox,950
```

## Output

A CSV file with the header `courier,kg`, one row per courier, in the order the couriers
first appear, with the kilograms to three decimals.

```text
courier,kg
Swift,1.500
```
"""

SCRIPT = """import argparse, csv
p = argparse.ArgumentParser()
p.add_argument('--input'); p.add_argument('--output')
a = p.parse_args()
totals = {}
for row in csv.DictReader(open(a.input)):
    totals[row['courier']] = totals.get(row['courier'], 0) + int(row['grams'])
import os
os.makedirs(os.path.dirname(a.output) or '.', exist_ok=True)
with open(a.output, 'w') as f:
    f.write('courier,kg\\n')
    for k, v in totals.items():
        f.write(f'{k},{v / 1000:.3f}\\n')
"""


@pytest.fixture
def skill(tmp_path: Path):
    folder = tmp_path / "skills" / "parcel-weights"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL)
    return load_skill(folder)


def scripted(tmp_path: Path, name: str, path: str, content: str) -> str:
    script = tmp_path / f"{name}.json"
    call = {"name": "write_file", "arguments": {"path": path, "content": content}}
    script.write_text(json.dumps({"turns": [{"tool_calls": [call]}, {"text": "done"}]}))
    return f"scripted/{script}"


def passes(task, model: str, skill, workspace) -> bool:
    outcome = asyncio.run(run_task(task, model, skill=skill, workspace=workspace))
    return outcome.score.passed


def store_synthesis(skill, workspace: Workspace, model: str) -> None:
    """What a synthesis that agreed would have stored: its script, command and examples."""
    result = Synthesis(
        model=model,
        offered=True,
        reason="3 of 4 candidates agree",
        script_path="scripts/do_task.py",
        script=SCRIPT,
        command="python3 scripts/do_task.py --input examples/input.csv --output out/output.csv",
        agreement=(3, 4),
        examples={"examples/input.csv": "courier,grams\nSwift,1200\nOx,950\nSwift,300\n"},
        edge_examples={"examples/input.csv": "courier,grams\nLone,5\n"},
    )
    path = _stored_path(skill, model, {"synthesis_model": model}, workspace.compile_cache)
    atomic_write_text(path, result.model_dump_json())


def test_a_skill_without_synthesis_gets_check_only_tasks_from_its_own_example(tmp_path, skill):
    workspace = Workspace(tmp_path / "ws")
    [folder] = write_synthetic_tasks(skill, workspace, "local/none-stored")
    task = load_task(folder)
    assert task.synthetic and task.category == "synthetic"
    assert task.origin["inputs"] == "the skill's own examples"
    assert task.origin["expected"].startswith("none")
    assert folder.parent == synthetic_folder(workspace, skill)
    # The fixture is the input the skill shows, under the name the prompt gives it.
    [(name, content)] = task.fixtures.items()
    assert content.startswith("courier,grams\nSwift,1200") and name in task.prompt
    right = scripted(tmp_path, "right", "out/output.csv", "courier,kg\nSwift,1.500\nOx,0.950\n")
    wrong = scripted(tmp_path, "wrong", "out/output.csv", "name,kilos\nSwift,1.5\n")
    assert passes(task, right, skill, workspace)
    assert not passes(task, wrong, skill, workspace)


def test_agreed_outputs_become_expected_values_for_every_example_set(tmp_path, skill):
    workspace = Workspace(tmp_path / "ws")
    store_synthesis(skill, workspace, "local/coder")
    folders = write_synthetic_tasks(skill, workspace, "local/coder")
    assert len(folders) == 2  # the ordinary example set and the special case
    first, edge = (load_task(f) for f in folders)
    assert "3 of 4" in first.origin["expected"] and "local/coder" in first.origin["from"]
    assert first.fixtures == {
        "examples/input.csv": "courier,grams\nSwift,1200\nOx,950\nSwift,300\n"
    }
    equals = [c for c in first.eval if getattr(c, "mode", "") == "exact"]
    assert [c.expected for c in equals] == ["courier,kg\nSwift,1.500\nOx,0.950\n"]
    right = scripted(tmp_path, "right", "out/output.csv", "courier,kg\nSwift,1.500\nOx,0.950\n")
    # Shaped right (header and all) but a wrong number: only the agreed output catches it.
    close = scripted(tmp_path, "close", "out/output.csv", "courier,kg\nSwift,1.200\nOx,0.950\n")
    assert passes(first, right, skill, workspace)
    assert not passes(first, close, skill, workspace)
    lone = scripted(tmp_path, "lone", "out/output.csv", "courier,kg\nLone,0.005\n")
    assert passes(edge, lone, skill, workspace)


def test_rewriting_replaces_the_old_set_and_hand_written_tasks_win(tmp_path, skill):
    workspace = Workspace(tmp_path / "ws")
    store_synthesis(skill, workspace, "local/coder")
    write_synthetic_tasks(skill, workspace, "local/coder")
    assert len(synthetic_tasks(skill, workspace)) == 2
    write_synthetic_tasks(skill, workspace, "local/other")  # nothing stored for this one
    assert len(synthetic_tasks(skill, workspace)) == 1
    tasks, synthetic = tasks_or_synthetic(skill, workspace, "local/other")
    assert synthetic and len(tasks) == 1
    beside = skill.root.parent.parent / "tasks" / "mine"
    beside.mkdir(parents=True)
    (beside / "task.json").write_text(
        json.dumps({"id": "mine", "prompt": "p", "skill": str(skill.root), "eval": []})
    )
    (skill.root / "tasks").mkdir()
    moved = skill.root / "tasks" / "mine"
    beside.rename(moved)
    tasks, synthetic = tasks_or_synthetic(skill, workspace, "local/other")
    assert not synthetic and [t.id for t in tasks] == ["mine"]


def test_a_skill_that_names_no_files_gets_a_clear_error(tmp_path):
    folder = tmp_path / "vague"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: vague\ndescription: Be helpful.\n---\n\nBe kind.\n"
    )
    skill = load_skill(folder)
    assert not extract_contract(skill).computable
    with pytest.raises(SkvmError) as caught:
        write_synthetic_tasks(skill, Workspace(tmp_path / "ws"))
    assert "skvm task new" in caught.value.hint
    assert not synthetic_folder(Workspace(tmp_path / "ws"), skill).exists()


def test_bench_and_optimize_fall_back_to_synthetic_tasks(tmp_path, skill, monkeypatch):
    from skvm_core.commands.bench import _task_paths

    monkeypatch.setenv("SKVM_HOME", str(tmp_path / "ws"))
    paths = _task_paths(None, skill.root)
    assert paths and all(load_task(p).synthetic for p in paths)
    with pytest.raises(SkvmError):
        _task_paths(None, tmp_path)  # not a skill folder


def record(task: str, condition: str, passed: bool, synthetic: bool) -> RunRecord:
    return RunRecord(
        task_id=task,
        target="m",
        condition=condition,
        run=0,
        status="ok",
        score=float(passed),
        passed=passed,
        synthetic=synthetic,
    )


def test_reports_count_synthetic_tasks_apart():
    records = [
        record("written", "original", False, False),
        record("written", "compiled", True, False),
        record("made-1", "original", True, True),
        record("made-1", "compiled", True, True),
    ]
    report = build_report("s", records)
    cells = {(c.condition, c.synthetic): c for c in report.cells}
    assert cells[("original", False)].pass_rate == 0.0
    assert cells[("original", True)].pass_rate == 1.0
    deltas = {d.synthetic: d for d in report.deltas}
    assert deltas[False].tasks == 1 and deltas[False].pass_delta == 1.0
    assert deltas[True].tasks == 1 and deltas[True].pass_delta == 0.0
    text = to_markdown(report)
    assert "| made-1 · synthetic tasks |" in text
    assert "| m | original · synthetic tasks |" in text
    assert "| written |" in text


def test_an_expected_json_file_is_compared_as_a_document(tmp_path):
    from skvm_core.run.checks import CheckSpec, check_criterion
    from skvm_core.run.graders import grade_file_check
    from skvm_core.run.task import FileCheckCriterion

    criterion = FileCheckCriterion.model_validate(
        check_criterion(CheckSpec(kind="equals", file="out.json", value='{"a": 1, "b": [2, 3]}'))
    )
    (tmp_path / "out.json").write_text('{\n  "b": [2, 3],\n  "a": 1.0\n}\n')
    assert grade_file_check(criterion, tmp_path, "c").passed
    (tmp_path / "out.json").write_text('{"a": 1, "b": [3, 2]}')
    assert not grade_file_check(criterion, tmp_path, "c").passed
    text = FileCheckCriterion.model_validate(
        check_criterion(CheckSpec(kind="equals", file="out.txt", value="x 1"))
    )
    assert text.mode == "exact"


def test_optimize_on_a_skill_without_tasks_runs_on_synthetic_ones_and_says_so(
    tmp_path, skill, monkeypatch, capsys
):
    from skvm_core.cli import main
    from skvm_core.profile.runner import store_tcp
    from skvm_core.profile.tcp import TCP

    workspace = Workspace(tmp_path / "ws")
    monkeypatch.setenv("SKVM_HOME", str(workspace.root))
    model = scripted(tmp_path, "m", "out/output.csv", "courier,kg\nSwift,1.500\nOx,0.950\n")
    store_tcp(TCP(model=model, profiledAt="2026-01-01T00:00:00.000Z", capabilities={}), workspace)
    store_synthesis(skill, workspace, "local/coder")  # two example sets: train and held out
    write_synthetic_tasks(skill, workspace, "local/coder")
    code = main(
        ["optimize", "--skill", str(skill.root), "--target", model, "--rounds", "1", "--runs", "1"]
    )
    out, err = capsys.readouterr()
    said = out + err
    assert code == 0, said
    assert "no hand-written tasks" in said and "synthesised from the skill's contract" in said
    [session] = (workspace.root / "optimize").iterdir()
    data = json.loads((session / "session.json").read_text())
    assert data["synthetic_tasks"] and data["train"] + data["held_out"]
    assert all(load_task(p).synthetic for p in data["train"] + data["held_out"])
