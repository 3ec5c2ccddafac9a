"""The new-task screen: a skill with no tasks gets one from the form, runs it on both targets
and shows the score; bad input is shown inline and nothing is written."""

import json
from pathlib import Path

from textual.widgets import Input, Select, SelectionList, Static, TextArea

from skvm_core.store.workspace import Workspace
from skvm_tui.engine import Engine
from skvm_tui.screens.new_task import NewTaskScreen
from skvm_tui.settings import WorkbenchSettings
from tests.workbench_helpers import WEAK, RecordingApp, bundled_profile

SIZE = (150, 46)
SKILL = """---
name: shout-lines
description: Turn every line of a text file into upper case.
---
Read the text file the user names and write each of its lines in upper case, in the same
order, to `loud.txt`.
"""


def scripted(tmp_path: Path, name: str, content: str) -> str:
    script = tmp_path / f"{name}.json"
    call = {"name": "write_file", "arguments": {"path": "loud.txt", "content": content}}
    script.write_text(json.dumps({"turns": [{"tool_calls": [call]}, {"text": "done"}]}))
    return f"scripted/{script}"


def app_on_a_skill_without_tasks(tmp_path: Path, targets: list[str]) -> RecordingApp:
    skill = tmp_path / "mine" / "shout-lines"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL)
    engine = Engine(Workspace(tmp_path / "ws"), {t: bundled_profile(WEAK) for t in targets})
    return RecordingApp(
        skill, targets, engine, WorkbenchSettings(watch=False), persist_settings=False
    )


async def settle(app, pilot) -> None:
    await app.wait_loads(1)
    await app.workers.wait_for_complete()
    await pilot.pause()


def fill(screen: NewTaskScreen, prompt: str, folder: Path) -> None:
    screen.query_one("#prompt", TextArea).load_text(prompt)
    screen.query_one("#folder", Input).value = str(folder)


async def test_a_task_written_in_the_form_runs_on_both_targets_and_is_scored(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "poem.txt").write_text("one\ntwo\n")
    (inputs / "unrelated.bin").write_bytes(b"\0\1")
    right = scripted(tmp_path, "right", "ONE\nTWO\n")
    wrong = scripted(tmp_path, "wrong", "one\ntwo\n")
    app = app_on_a_skill_without_tasks(tmp_path, [right, wrong])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.engine.tasks_for(app.skill) == [] and app.task_id is None
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, NewTaskScreen)
        fill(screen, "Make poem.txt loud.", inputs)
        screen.list_files()
        files = screen.query_one("#files", SelectionList)
        files.select("poem.txt")
        screen.query_one("#check-kind", Select).value = "equals"
        screen.query_one("#check-file", Input).value = "loud.txt"
        screen.query_one("#check-value", Input).value = "ONE\nTWO"
        screen.add_check()
        screen.action_save()
        await pilot.pause()
        assert screen.written is not None, screen.query_one("#problems", Static).render()
        assert screen.revalidate() == []
        await pilot.press("escape")
        await pilot.pause()

        tasks = app.engine.tasks_for(app.skill)
        assert [t.id for t in tasks] == [app.task_id]
        task = tasks[0]
        # Written where the workbench finds it again: the workspace's folder for the skill.
        assert task.task_dir.parent == tmp_path / "ws" / "tasks" / "shout-lines"
        assert sorted(p.name for p in task.fixtures_dir.iterdir()) == ["poem.txt"]

        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.last_runs[right].score.passed
        assert not app.last_runs[wrong].score.passed
        assert "RunDone" in app.kinds()


async def test_bad_input_is_shown_in_the_form_and_nothing_is_written(tmp_path):
    app = app_on_a_skill_without_tasks(tmp_path, [scripted(tmp_path, "m", "X")])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        screen = app.screen
        problems = screen.query_one("#problems", Static)
        screen.query_one("#check-kind", Select).value = "regex"
        screen.query_one("#check-file", Input).value = "out.txt"
        screen.query_one("#check-value", Input).value = "(unclosed"
        screen.add_check()
        assert "does not compile" in str(problems.render()) and screen.checks == []
        screen.query_one("#check-file", Input).value = "../outside.txt"
        screen.query_one("#check-kind", Select).value = "exists"
        screen.add_check()
        assert "inside the work folder" in str(problems.render())
        screen.query_one("#check-file", Input).value = "out.txt"
        screen.add_check()
        screen.action_save()  # no prompt yet
        assert "needs a prompt" in str(problems.render()) and screen.written is None
        fill(screen, "Do it.", tmp_path / "no-such-folder")
        screen.list_files()
        assert "no such folder" in str(problems.render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, NewTaskScreen)
        assert not (tmp_path / "ws" / "tasks").exists() and app.task_id is None


async def test_an_edit_that_breaks_the_task_is_reported_inline(tmp_path):
    app = app_on_a_skill_without_tasks(tmp_path, [scripted(tmp_path, "m", "X")])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        screen = app.screen
        screen.query_one("#prompt", TextArea).load_text("Do it.")
        screen.query_one("#check-file", Input).value = "loud.txt"
        screen.add_check()
        screen.action_save()
        assert screen.written is not None
        (screen.written / "task.json").write_text('{"id": "x", "prompt": 3}')  # as an editor might
        problems = screen.revalidate()
        assert problems and "prompt" in problems[0]
        assert "prompt" in str(screen.query_one("#problems", Static).render())


async def test_a_free_run_on_a_folder_writes_back_and_saves_as_a_task_that_passes(tmp_path):
    from skvm_tui.screens.free_run import FreeRunScreen

    mine = tmp_path / "my-files"
    mine.mkdir()
    (mine / "poem.txt").write_text("one\ntwo\n")
    model = scripted(tmp_path, "m", "ONE\nTWO\n")
    app = app_on_a_skill_without_tasks(tmp_path, [model])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("s")  # nothing to save yet: said, nothing written
        assert not (tmp_path / "ws" / "tasks").exists()
        await pilot.press("g")
        screen = app.screen
        assert isinstance(screen, FreeRunScreen)
        screen.query_one("#free-prompt", TextArea).load_text("Make poem.txt loud.")
        screen.query_one("#free-folder", Input).value = str(mine)
        screen.action_start()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        run = app.free_runs[model]
        assert run.copied_back and run.changed == ["loud.txt"]
        assert (mine / "loud.txt").read_text() == "ONE\nTWO\n"
        assert "FreeRunDone" in app.kinds() and "TraceEvent" in app.kinds()

        await pilot.press("s")
        task = app.engine.tasks_for(app.skill)[0]
        assert app.task_id == task.id and task.origin["format"] == "free-run"
        assert [p.name for p in task.fixtures_dir.iterdir()] == ["poem.txt"]
        (mine / "loud.txt").unlink()
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.last_runs[model].score.passed
        assert not (mine / "loud.txt").exists()  # a task run never writes into the folder
