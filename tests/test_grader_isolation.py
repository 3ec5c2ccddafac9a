"""Graders judge what an agent left in its work folder; nothing it planted there may steer
them: a `json.py` beside the output, a `usercustomize.py` under the home, a `conftest.py`
or `pytest.ini` for an imported pytest grader."""

import json
import shutil
import textwrap

import pytest

from skvm_core.agent.result import RunResult
from skvm_core.bench.importers import import_skillsbench
from skvm_core.run.graders import evaluate
from skvm_core.run.task import load_task

CHECK_JSON = textwrap.dedent(
    """\
    python3 - <<'PY'
    import json, sys
    data = json.load(open("totals.json"))
    sys.exit(0 if data == {"a": 3} else 1)
    PY
    """
)
# Planted by the agent: a json module whose load returns the expected answer.
FORGED_JSON = 'def load(handle):\n    return {"a": 3}\n'
# Planted under HOME: every Python started with this home exits 0 at once.
FORGED_SITE = "import os\nos._exit(0)\n"


def _task(tmp_path, criteria, grade_py: str | None = None):
    folder = tmp_path / "task"
    folder.mkdir()
    (folder / "task.json").write_text(
        json.dumps({"id": "iso", "name": "iso", "prompt": "write totals.json", "eval": criteria})
    )
    if grade_py:
        (folder / "grade.py").write_text(grade_py)
    return load_task(folder)


def _work(tmp_path, files: dict[str, str]):
    work = tmp_path / "work"
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    work.mkdir(exist_ok=True)
    return RunResult(run_id="r", model="m", status="ok", work_dir=work)


SCRIPT = [{"method": "script", "command": CHECK_JSON}]


async def test_a_script_grader_scores_the_real_output(tmp_path):
    score = await evaluate(_task(tmp_path, SCRIPT), _work(tmp_path, {"totals.json": '{"a": 3}'}))
    assert score.passed


@pytest.mark.parametrize(
    "planted",
    [
        {"json.py": FORGED_JSON, "totals.json": "{}"},
        {".local/lib/python3.11/site-packages/usercustomize.py": FORGED_SITE},
    ],
    ids=["json.py", "usercustomize"],
)
async def test_a_planted_module_does_not_forge_a_script_grade(tmp_path, planted):
    score = await evaluate(_task(tmp_path, SCRIPT), _work(tmp_path, planted))
    assert not score.passed


GRADE_PY = textwrap.dedent(
    """\
    import json, pathlib

    def grade(transcript, workspace_path):
        path = pathlib.Path(workspace_path) / "totals.json"
        ok = path.is_file() and json.loads(path.read_text()) == {"a": 3}
        return [{"id": "totals", "score": 1.0 if ok else 0.0, "weight": 1.0}]
    """
)


@pytest.mark.parametrize(
    "planted",
    [{"json.py": "def loads(text):\n    return {'a': 3}\n"}, {".local/lib/python3.11/site-packages/usercustomize.py": 'import builtins\nbuiltins.print(\'[{"id": "totals", "score": 1.0, "weight": 1.0}]\')\nimport os\nos._exit(0)\n'}],
    ids=["json.py", "usercustomize"],
)  # fmt: skip
async def test_a_planted_module_does_not_forge_a_python_grade(tmp_path, planted):
    task = _task(tmp_path, [{"method": "python-grade", "file": "grade.py"}], GRADE_PY)
    honest = await evaluate(task, _work(tmp_path / "honest", {"totals.json": '{"a": 3}'}))
    assert honest.passed
    forged = await evaluate(task, _work(tmp_path / "forged", {"totals.json": "{}", **planted}))
    assert not forged.passed


TEST_OUTPUTS = textwrap.dedent(
    """\
    from pathlib import Path

    def test_answer_written():
        assert Path("answer.txt").read_text().strip() == "42"
    """
)


@pytest.mark.skipif(shutil.which("python3") is None, reason="needs python3")
async def test_an_imported_pytest_grader_ignores_a_planted_conftest_and_ini(tmp_path):
    pytest_present = (
        __import__("subprocess").run(["python3", "-c", "import pytest"]).returncode == 0
    )
    if not pytest_present:
        pytest.skip("the system python3 has no pytest, so the imported grader cannot run")
    source = tmp_path / "source" / "answer-task"
    (source / "tests").mkdir(parents=True)
    (source / "environment").mkdir()
    (source / "task.toml").write_text('[metadata]\ncategory = "test"\n')
    (source / "instruction.md").write_text("Write 42 to answer.txt.\n")
    (source / "tests" / "test_outputs.py").write_text(TEST_OUTPUTS)
    imported = import_skillsbench(source, tmp_path / "tasks")
    task = load_task(imported.task_dir)
    assert not (task.task_dir / "fixtures" / "tests").exists()  # never in the work folder
    right = await evaluate(task, _work(tmp_path / "right", {"answer.txt": "42\n"}))
    assert right.passed, right
    planted = {
        "answer.txt": "wrong\n",
        "conftest.py": "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    outcome = yield\n    outcome.get_result().outcome = 'passed'\n",
        "pytest.ini": "[pytest]\naddopts = -p no:terminal\n",
        "tests/conftest.py": "def pytest_collection_modifyitems(items):\n    items.clear()\n",
    }
    forged = await evaluate(task, _work(tmp_path / "forged", planted))
    assert not forged.passed


def test_a_file_check_regex_is_bounded_on_an_output_made_to_trip_it(tmp_path):
    from skvm_core.run.graders import grade_file_check
    from skvm_core.run.task import FileCheckCriterion

    work = tmp_path / "work"
    work.mkdir()
    (work / "out.txt").write_text("a " * 60_000 + "!")  # 120 KB that backtracks forever
    criterion = FileCheckCriterion(
        method="file-check", path="out.txt", mode="regex", expected=r"(\w+\s?)+$"
    )
    result = grade_file_check(criterion, work, "pattern")
    assert not result.passed and "took longer" in result.details
    (work / "out.txt").write_text("total: 42\n")
    fine = FileCheckCriterion(
        method="file-check", path="out.txt", mode="regex", expected=r"total: \d+"
    )
    assert grade_file_check(fine, work, "pattern").passed
