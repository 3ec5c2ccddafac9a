"""Host-side file operations never follow a link that something untrusted planted: a task's
setup script, a skill's own `.skvm/`, an earlier run in a harness project folder."""

import os

import pytest

from skvm_core.harness import get_harness
from skvm_core.llm import ScriptedModel, register_scripted
from skvm_core.run.runner import prepare_work_dir, run_task
from skvm_core.run.task import load_task
from skvm_core.skill import load_skill
from skvm_core.store.beneath import UnsafePath, copy_file_beneath, remove_beneath
from skvm_core.store.workspace import Workspace
from tests.harness_helpers import turn
from tests.test_tasks_and_graders import make_task


def _skill(root):
    folder = root / "tally-skill"
    (folder / "scripts").mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: tally-skill\ndescription: Tally things. Use when asked to tally.\n---\n\n"
        "Run `python3 scripts/tally.py` on the input.\n"
    )
    (folder / "scripts" / "tally.py").write_text("print('tally')\n")
    return folder


@pytest.fixture
def host_dir(tmp_path):
    folder = tmp_path / "host-home"
    folder.mkdir()
    (folder / "keep.txt").write_text("the user's file")
    return folder


async def test_a_setup_script_link_does_not_steer_laying_in_the_skill(tmp_path, host_dir):
    skill = _skill(tmp_path)
    folder = make_task(
        tmp_path,
        {"skill": str(skill)},
        files={"_setup.sh": f"ln -s {host_dir} scripts"},
    )
    model = ScriptedModel([turn(text="nothing to do"), turn(text="still nothing")])
    await run_task(
        load_task(folder), register_scripted(model), workspace=Workspace(tmp_path / "ws")
    )
    assert sorted(p.name for p in host_dir.iterdir()) == ["keep.txt"]


async def test_a_skill_shipped_env_setup_is_not_run(tmp_path):
    skill = _skill(tmp_path)
    (skill / ".skvm").mkdir()
    (skill / ".skvm" / "env-setup.sh").write_text("echo ran > planted-by-skill.txt\n")
    folder = make_task(tmp_path, {"skill": str(skill)})
    model = ScriptedModel([turn(text="nothing to do"), turn(text="still nothing")])
    outcome = await run_task(
        load_task(folder), register_scripted(model), workspace=Workspace(tmp_path / "ws"), keep=True
    )
    assert not (outcome.run_dir / "work" / "planted-by-skill.txt").exists()
    assert "not run" in outcome.setup_note


def test_a_linked_fixture_brings_in_no_host_file(tmp_path, host_dir):
    folder = make_task(tmp_path, {}, files={"data.csv": "a\n"})
    os.symlink(host_dir / "keep.txt", folder / "fixtures" / "stolen.txt")
    os.symlink(host_dir, folder / "fixtures" / "stolen-dir")
    work = tmp_path / "work"
    prepare_work_dir(load_task(folder), work)
    assert sorted(p.name for p in work.iterdir()) == ["data.csv"]


@pytest.mark.parametrize("harness", ["opencode", "codex", "bare"])
def test_installing_a_skill_through_a_planted_link_touches_no_host_file(
    tmp_path, host_dir, harness
):
    adapter = get_harness(harness)
    if adapter.skills_folder is None:
        pytest.skip(f"{harness} has no skills folder")
    project = tmp_path / "project"
    project.mkdir()
    top = adapter.skills_folder.split("/")[0]
    (host_dir / "skills" / "tally-skill").mkdir(parents=True)
    (host_dir / "skills" / "tally-skill" / "precious.txt").write_text("host data")
    os.symlink(host_dir, project / top)  # .opencode -> the user's folder
    with pytest.raises(UnsafePath):
        adapter.install_skill(load_skill(_skill(tmp_path)), project)
    assert (host_dir / "skills" / "tally-skill" / "precious.txt").read_text() == "host data"
    assert not (host_dir / "skills" / "tally-skill" / "SKILL.md").exists()


def test_a_link_as_the_last_component_is_neither_written_through_nor_followed(tmp_path, host_dir):
    root = tmp_path / "root"
    root.mkdir()
    source = tmp_path / "src.txt"
    source.write_text("new")
    os.symlink(host_dir / "keep.txt", root / "file.txt")
    assert copy_file_beneath(source, root, "file.txt") is False  # what is there wins
    with pytest.raises(UnsafePath):
        copy_file_beneath(source, root, "file.txt", replace=True)
    os.symlink(host_dir, root / "folder")
    remove_beneath(root, "folder")  # the link goes, the folder behind it stays
    assert not os.path.lexists(root / "folder") and (host_dir / "keep.txt").exists()
    with pytest.raises(UnsafePath):
        copy_file_beneath(source, root, "../escape.txt")


PINCH_TASK = """---
id: copy_notes
name: Copy notes
grading_type: automated
workspace_files:
  - source: {source}
    dest: {dest}
---

## Prompt

Summarise notes.txt.

## Automated Checks

```python
def grade(transcript, workspace_path):
    return {{"done": 1.0}}
```
"""


@pytest.mark.parametrize(
    ("source", "dest"),
    [("../../secret.txt", "notes.txt"), ("notes.txt", "../../escaped.txt"), ("linked.txt", "notes.txt")],
    ids=["source ../", "dest ../", "source link"],
)  # fmt: skip
def test_an_imported_task_copies_no_host_file_and_writes_nothing_outside(tmp_path, source, dest):
    from skvm_core.bench.importers import import_pinchbench

    suite = tmp_path / "suite"
    (suite / "tasks").mkdir(parents=True)
    (suite / "assets").mkdir()
    (suite / "assets" / "notes.txt").write_text("asset")
    (tmp_path / "secret.txt").write_text("host secret")
    os.symlink(tmp_path / "secret.txt", suite / "assets" / "linked.txt")
    md = suite / "tasks" / "copy_notes.md"
    md.write_text(PINCH_TASK.format(source=source, dest=dest))
    out = tmp_path / "out" / "tasks"
    result = import_pinchbench(md, out)
    assert result.skipped and ("outside" in result.skipped or "not a path" in result.skipped)
    assert (
        not (tmp_path / "out" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    )
    copied = [p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert "host secret" not in copied


def _export(skill, project, *extra) -> int:
    from skvm_core.cli import main

    return main(
        ["export", "--skill", str(skill), "--target", "local/qwen2.5-coder-0.5b"]
        + ["--harness", "opencode", "--into", str(project), "--original", *extra]
    )


def test_exporting_a_skill_onto_itself_loses_nothing(tmp_path, capsys):
    project = tmp_path / "project"
    skill = _skill(project / ".opencode" / "skills")
    assert _export(skill, project) == 2
    out = capsys.readouterr()
    assert "nothing to export" in out.err + out.out and "Traceback" not in out.err
    assert (skill / "SKILL.md").is_file() and (skill / "scripts" / "tally.py").is_file()


def test_export_replaces_only_what_it_wrote_unless_forced(tmp_path, capsys):
    project = tmp_path / "project"
    users = project / ".opencode" / "skills" / "tally-skill"
    users.mkdir(parents=True)
    (users / "notes.md").write_text("the user's own work")
    skill = _skill(tmp_path)
    assert _export(skill, project) == 2
    out = capsys.readouterr()
    assert "--force" in out.out + out.err
    assert (users / "notes.md").read_text() == "the user's own work"
    assert _export(skill, project, "--force") == 0 and not (users / "notes.md").exists()
    (skill / "scripts" / "tally.py").write_text("print('v2')\n")
    assert _export(skill, project) == 0  # its own earlier export is replaced without asking
    assert (users / "scripts" / "tally.py").read_text() == "print('v2')\n"


def test_export_through_a_linked_skill_folder_deletes_nothing_outside(tmp_path, host_dir, capsys):
    project = tmp_path / "project"
    project.mkdir()
    (host_dir / "skills" / "tally-skill").mkdir(parents=True)
    (host_dir / "skills" / "tally-skill" / "precious.txt").write_text("host data")
    os.symlink(host_dir, project / ".opencode")
    assert _export(_skill(tmp_path), project, "--force") == 2
    out = capsys.readouterr()
    assert "link" in out.err + out.out and "Traceback" not in out.err
    assert (host_dir / "skills" / "tally-skill" / "precious.txt").read_text() == "host data"


def test_export_copies_no_link_target_from_outside_the_skill(tmp_path, host_dir):
    skill = _skill(tmp_path)  # (a link to a file outside is refused when the skill loads)
    (skill / "node_modules").mkdir()
    os.symlink(host_dir, skill / "node_modules" / "pkg")
    os.symlink(tmp_path, skill / ".venv")  # a link to a parent: copying it would recurse
    project = tmp_path / "project"
    project.mkdir()
    assert _export(skill, project) == 0
    placed = project / ".opencode" / "skills" / "tally-skill"
    names = {p.relative_to(placed).as_posix() for p in placed.rglob("*")}
    assert names == {"SKILL.md", "scripts", "scripts/tally.py", ".skvm-export.json"}
