"""A run on the user's folder: works on a copy, copies back only the files it created or
changed and only when it ends ok, and can be saved as a task."""

import asyncio
import json
from pathlib import Path

import pytest

from skvm_core.errors import SkvmError
from skvm_core.run import folder_run
from skvm_core.run.folder_run import run_on_folder, save_as_task
from skvm_core.run.task import load_task
from skvm_core.skill import load_skill
from skvm_core.store.workspace import Workspace
from tests.conftest import SAMPLE_SKILLS


def model(tmp_path: Path, *turns: dict) -> str:
    script = tmp_path / f"turns-{len(list(tmp_path.glob('turns-*')))}.json"
    script.write_text(json.dumps({"turns": list(turns)}))
    return f"scripted/{script}"


def write(path: str, content: str) -> dict:
    return {"tool_calls": [{"name": "write_file", "arguments": {"path": path, "content": content}}]}


def folder_with(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "data.csv").write_text("a,b\n1,2\n")
    (folder / "sub" / "keep.txt").write_text("untouched\n")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def run(tmp_path, prompt, target, folder, skill=None):
    return asyncio.run(
        run_on_folder(prompt, target, folder, skill=skill, workspace=Workspace(tmp_path / "ws"))
    )


def test_only_created_or_changed_files_come_back_and_replaced_ones_are_kept(tmp_path):
    folder = folder_with(tmp_path)
    skill = load_skill(SAMPLE_SKILLS / "csv-report")  # ships scripts/: laid in, not copied back
    target = model(
        tmp_path, write("out/sum.txt", "3\n"), write("data.csv", "a,b\n9,9\n"), {"text": "done"}
    )
    result = run(tmp_path, "sum data.csv", target, folder, skill)
    assert result.copied_back and result.changed == ["data.csv", "out/sum.txt"]
    after = snapshot(folder)
    assert after == {
        "data.csv": b"a,b\n9,9\n",
        "out/sum.txt": b"3\n",
        "sub/keep.txt": b"untouched\n",
    }
    # The replaced file as it was, beside the run (an undo, and the saved task's input).
    assert (result.outcome.run_dir / "replaced" / "data.csv").read_bytes() == b"a,b\n1,2\n"
    assert not result.outcome.run.work_dir.exists()


def test_a_run_that_does_not_end_ok_leaves_the_folder_as_it_was(tmp_path):
    folder = folder_with(tmp_path)
    before = snapshot(folder)
    target = model(tmp_path, write("out.txt", "partial"), *[{"fault": "connection"}] * 8)
    result = run(tmp_path, "do it", target, folder)
    assert result.outcome.run.status != "ok" and not result.copied_back
    assert result.changed == ["out.txt"] and snapshot(folder) == before


def test_a_link_in_the_folder_is_not_followed_into_the_run(tmp_path):
    folder = folder_with(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("host file")
    (folder / "link.txt").symlink_to(secret)
    target = model(
        tmp_path,
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "link.txt"}}]},
        {"text": "done"},
    )
    result = run(tmp_path, "read link.txt", target, folder)
    trace = Path(result.outcome.run.trace_path).read_text()
    assert "host file" not in trace and (folder / "link.txt").is_symlink()


def test_a_saved_run_is_a_task_whose_checks_are_the_outputs(tmp_path):
    folder = folder_with(tmp_path)
    skill_dir = tmp_path / "skills" / "mine-skill"
    skill_dir.mkdir(parents=True)
    (skill_dir / "SKILL.md").write_text("---\nname: mine-skill\ndescription: d\n---\nSum.\n")
    skill = load_skill(skill_dir)
    target = model(
        tmp_path, write("data.csv", "a,b\n3\n"), write("blob.bin", "\ufffd"), {"text": "done"}
    )
    result = run(tmp_path, "sum data.csv", target, folder, skill)
    task = load_task(save_as_task(result, skill, Workspace(tmp_path / "ws")))
    assert task.prompt == "sum data.csv" and task.origin["run"] == result.outcome.run.run_id
    by_path = {c.path: c for c in task.eval}
    assert by_path["data.csv"].mode == "exact" and by_path["data.csv"].expected == "a,b\n3\n"
    assert by_path["blob.bin"].expected == r"[\s\S]*"  # not text: must exist
    # Its inputs are the files as they were before the run.
    assert (task.fixtures_dir / "data.csv").read_text() == "a,b\n1,2\n"
    assert (task.fixtures_dir / "sub" / "keep.txt").is_file()


def test_a_run_that_wrote_nothing_cannot_be_saved(tmp_path):
    folder = folder_with(tmp_path)
    skill = load_skill(SAMPLE_SKILLS / "csv-report")
    result = run(tmp_path, "look", model(tmp_path, {"text": "nothing to do"}), folder, skill)
    with pytest.raises(SkvmError, match="wrote no files"):
        save_as_task(result, skill, Workspace(tmp_path / "ws"))


def test_a_missing_or_huge_folder_is_refused_before_any_run(tmp_path, monkeypatch):
    with pytest.raises(SkvmError, match="no such folder"):
        run(tmp_path, "x", model(tmp_path, {"text": "x"}), tmp_path / "absent")
    folder = folder_with(tmp_path)
    monkeypatch.setattr(folder_run, "MAX_FOLDER_FILES", 1)
    with pytest.raises(SkvmError, match="too large"):
        run(tmp_path, "x", model(tmp_path, {"text": "x"}), folder)
    assert not (tmp_path / "ws" / "runs").exists()
