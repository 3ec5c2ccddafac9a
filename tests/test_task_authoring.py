"""Tasks for any skill: written from a prompt, files and expectations, found again beside the
skill or in the workspace, and run like any other task."""

from __future__ import annotations

import json

import pytest

from skvm_core.errors import SkvmError
from skvm_core.run.authoring import check_task, tasks_for_skill, write_new_task
from skvm_core.run.task import load_task
from skvm_core.skill import load_skill
from skvm_core.store.workspace import Workspace


@pytest.fixture
def own_skill(tmp_path):
    """A user's skill with no tasks anywhere, in a folder of skills we must not write into."""
    folder = tmp_path / "skills" / "tally-votes"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: tally-votes\ndescription: Count the votes in a ballot file.\n---\nCount them.\n"
    )
    return load_skill(folder)


def test_a_written_task_lands_in_the_workspace_and_is_found_again(own_skill, tmp_path):
    workspace = Workspace(tmp_path / "ws")
    ballots = tmp_path / "ballots.txt"
    ballots.write_text("yes\nno\nyes\n")
    assert tasks_for_skill(own_skill, workspace) == []
    folder = write_new_task(
        own_skill,
        workspace,
        prompt="Count the votes in ballots.txt and write tally.json.",
        expectations=['tally.json is a JSON object with keys "yes", "no"'],
        files=[ballots],
    )
    assert folder.parent == workspace.root / "tasks" / "tally-votes"
    assert (
        not (own_skill.root / "tasks").exists() and not (own_skill.root.parent / "tasks").exists()
    )
    [task] = tasks_for_skill(own_skill, workspace)
    assert task.skill_paths() == [own_skill.root.resolve()]
    assert (task.fixtures_dir / "ballots.txt").read_text() == "yes\nno\nyes\n"
    assert task.eval[0].expected == {"type": "object", "required": ["yes", "no"]}
    assert check_task(folder) == []


def test_a_project_with_a_tasks_folder_beside_its_skills_gets_the_task_there(own_skill, tmp_path):
    (own_skill.root.parent / "tasks").mkdir()
    folder = write_new_task(
        own_skill, Workspace(tmp_path / "ws"), prompt="p", expectations=["out.txt exists"]
    )
    assert folder.parent == own_skill.root.parent / "tasks"
    assert load_task(folder).skill_paths() == [own_skill.root.resolve()]


@pytest.mark.parametrize(
    ("prompt", "expectations", "files", "message"),
    [
        ("", ["a.txt exists"], [], "needs a prompt"),
        ("p", [], [], "at least one check"),
        ("p", ["a.txt exists"], ["missing.txt"], "no such input file"),
    ],
)
def test_an_unusable_task_writes_nothing(own_skill, tmp_path, prompt, expectations, files, message):
    workspace = Workspace(tmp_path / "ws")
    with pytest.raises(SkvmError, match=message):
        write_new_task(
            own_skill,
            workspace,
            prompt=prompt,
            expectations=expectations,
            files=[tmp_path / f for f in files],
        )
    assert not (workspace.root / "tasks").exists() or not any(
        (workspace.root / "tasks").rglob("task.json")
    )


def test_check_says_what_is_wrong(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "task.json").write_text(json.dumps({"id": "t", "prompt": "p", "skill": "../nowhere"}))
    problems = check_task(folder)
    assert any("not there" in p for p in problems) and any("no checks" in p for p in problems)
    (folder / "task.json").write_text("{broken")
    assert check_task(folder) and "task.json" in check_task(folder)[0]


async def test_a_written_task_runs_and_is_scored(own_skill, tmp_path):
    from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
    from skvm_core.run.runner import run_task

    workspace = Workspace(tmp_path / "ws")
    folder = write_new_task(
        own_skill,
        workspace,
        prompt="Write tally.json with the counts.",
        expectations=['tally.json contains "yes"', "tally.json is valid JSON"],
    )
    model = register_scripted(
        ScriptedModel(
            [
                ScriptedTurn(
                    tool_calls=[
                        ScriptedCall(
                            name="write_file",
                            arguments={"path": "tally.json", "content": '{"yes": 2}'},
                        )
                    ]
                ),
                ScriptedTurn(text="done"),
            ]
        )
    )
    run = await run_task(
        load_task(folder), model, skill=own_skill, workspace=workspace, protocol="native"
    )
    assert run.score.passed and run.score.score == 1.0
