"""task.json loading and the graders, on real files and real subprocesses."""

import json
from pathlib import Path

import pytest

from skvm_core.agent.result import RunResult
from skvm_core.run.graders import EvalResult, combine, evaluate
from skvm_core.run.runner import prepare_work_dir, run_task
from skvm_core.run.task import TaskError, discover_tasks, load_task
from skvm_core.store.workspace import Workspace
from tests.conftest import SAMPLE_SKILLS
from tests.harness_helpers import call, turn


def make_task(
    tmp_path: Path,
    data: dict,
    files: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    folder = tmp_path / data.get("id", "t")
    (folder / "fixtures").mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (folder / "fixtures" / name).write_text(text)
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    (folder / "task.json").write_text(json.dumps({"id": "t", "prompt": "p", **data}))
    return folder


def ok_run(work: Path) -> RunResult:
    return RunResult(run_id="r", model="m", status="ok", work_dir=work)


def test_every_sample_task_loads_and_names_an_existing_skill():
    tasks = discover_tasks(SAMPLE_SKILLS / "tasks")
    assert len(tasks) >= 15
    per_skill: dict[str, int] = {}
    for task in tasks:
        (skill_path,) = task.skill_paths()
        assert (skill_path / "SKILL.md").is_file(), task.id
        assert task.task_dir.name == task.id and task.eval
        per_skill[skill_path.name] = per_skill.get(skill_path.name, 0) + 1
    assert len(per_skill) >= 5 and min(per_skill.values()) >= 3


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"id": "x"}', "prompt"),
        ('{"id": "x", "prompt": "p", "eval": [{"method": "magic"}]}', "eval"),
    ],
)
def test_malformed_tasks_are_clear_errors(tmp_path, content, message):
    (tmp_path / "task.json").write_text(content)
    with pytest.raises(TaskError, match=message):
        load_task(tmp_path)


def test_missing_task_file(tmp_path):
    with pytest.raises(TaskError, match="no such task"):
        load_task(tmp_path / "nothing")


async def test_script_grader_follows_the_eval_protocol(tmp_path):
    checks = "python3 -c \"import json; print('noise'); print(json.dumps({'checkpoints': [{'name': 'a', 'score': 1}, {'name': 'b', 'score': 0.4, 'reason': 'close'}]}))\""
    folder = make_task(tmp_path, {"eval": [{"method": "script", "command": checks}]})
    score = await evaluate(load_task(folder), ok_run(tmp_path))
    (result,) = score.results
    assert result.score == pytest.approx(0.7) and not result.passed  # mean 0.7, but b < 0.5
    assert [c.name for c in result.checkpoints] == ["a", "b"] and result.checkpoints[
        1
    ].reason == "close"


async def test_script_grader_exit_code_expected_output_infra_and_timeout(tmp_path):
    folder = make_task(
        tmp_path,
        {
            "eval": [
                {"method": "script", "command": "exit 3"},
                {"method": "script", "command": "echo 42", "expectedOutput": "42"},
                {"method": "script", "command": 'echo \'{"infraError": "pandas missing"}\''},
                {"method": "script", "command": "sleep 30", "timeoutMs": 500},
            ]
        },
    )
    score = await evaluate(load_task(folder), ok_run(tmp_path))
    exit_code, output, infra, slow = score.results
    assert exit_code.score == 0 and "exit code 3" in exit_code.details
    assert output.passed and output.score == 1
    assert infra.infra_error == "pandas missing"
    assert slow.score == 0 and "timed out" in slow.details
    assert score.score == pytest.approx(1 / 3)  # the infra skip is left out


async def test_file_check_modes(tmp_path):
    (tmp_path / "out.json").write_text('{"a": 1, "b": [1, 2]}')
    (tmp_path / "notes.txt").write_text("  Hello World  \n")
    folder = make_task(
        tmp_path / "task",
        {
            "eval": [
                {
                    "method": "file-check",
                    "path": "notes.txt",
                    "mode": "exact",
                    "expected": "Hello World",
                },
                {
                    "method": "file-check",
                    "path": "notes.txt",
                    "mode": "contains",
                    "expected": "World",
                },
                {
                    "method": "file-check",
                    "glob": "*.txt",
                    "mode": "regex",
                    "expected": "^\\s*Hello",
                },
                {
                    "method": "file-check",
                    "path": "out.json",
                    "mode": "json-schema",
                    "expected": {
                        "type": "object",
                        "properties": {"b": {"type": "array", "minItems": 3}},
                    },
                },
                {"method": "file-check", "path": "missing.txt", "mode": "exact", "expected": "x"},
                {
                    "method": "file-check",
                    "path": "../../etc/passwd",
                    "mode": "contains",
                    "expected": "root",
                },
            ]
        },
    )
    score = await evaluate(load_task(folder), ok_run(tmp_path))
    assert [r.passed for r in score.results] == [True, True, True, False, False, False]
    assert "minItems" in score.results[3].details or "too short" in score.results[3].details
    assert "does not exist" in score.results[4].details
    assert "leaves the work folder" in score.results[5].details


async def test_python_grade_with_weighted_checks(tmp_path):
    grade = (
        "def grade(transcript, workspace):\n"
        "    import os\n"
        "    wrote = any(i['message']['role'] == 'assistant' and any(c.get('type') == 'toolCall' for c in i['message']['content']) for i in transcript)\n"
        "    exists = os.path.exists(os.path.join(workspace, 'a.txt'))\n"
        "    return [{'id': 'file', 'score': 1.0 if exists else 0.0, 'weight': 0.75}, {'id': 'used_tools', 'score': 1.0 if wrote else 0.0, 'weight': 0.25, 'details': 'tool calls seen'}]\n"
    )
    folder = make_task(tmp_path, {"eval": [{"method": "python-grade"}]}, extra={"grade.py": grade})
    task = load_task(folder)
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("x")
    score = await evaluate(task, ok_run(work))
    (result,) = score.results
    assert result.score == pytest.approx(0.75) and result.passed
    assert {c.name: c.weight for c in result.checkpoints} == {"file": 0.75, "used_tools": 0.25}
    assert not (work / ".skvm-grade").exists()


async def test_python_grade_with_bad_weights_scores_zero_with_reason(tmp_path):
    grade = "def grade(t, w):\n    return [{'id': 'a', 'score': 1, 'weight': 0.5}]\n"
    folder = make_task(
        tmp_path, {"eval": [{"method": "custom", "evaluatorId": "python-grade", "payload": grade}]}
    )
    score = await evaluate(load_task(folder), ok_run(tmp_path))
    assert score.results[0].score == 0 and "sum to 0.5" in score.results[0].details


async def test_tainted_runs_are_not_graded(tmp_path):
    folder = make_task(tmp_path, {"eval": [{"method": "script", "command": "true"}]})
    run = RunResult(run_id="r", model="m", status="timeout", work_dir=tmp_path)
    score = await evaluate(load_task(folder), run)
    assert score.tainted and not score.results


def test_weights_and_grading_weights_combine():
    auto = EvalResult(criterion="a", method="script", weight=3, score=1.0)
    auto2 = EvalResult(criterion="b", method="file-check", weight=1, score=0.0)
    assert combine([auto, auto2]).score == pytest.approx(0.75)
    judge = EvalResult(criterion="j", method="llm-judge", score=0.0)
    hybrid = combine([auto, judge], {"automated": 0.7, "llmJudge": 0.3})
    assert hybrid.score == pytest.approx(0.7)


def test_a_run_passes_only_when_every_criterion_passes_or_at_the_declared_threshold():
    good = EvalResult(criterion="a", method="script", weight=3, score=1.0, passed=True)
    wrong = EvalResult(criterion="b", method="file-check", weight=1, score=0.0, passed=False)
    mostly = combine([good, wrong])
    assert mostly.score == pytest.approx(0.75) and not mostly.passed  # partial credit only
    assert combine([good, good.model_copy(update={"criterion": "c"})]).passed
    assert combine([good, wrong], pass_threshold=0.7).passed
    assert not combine([good, wrong], pass_threshold=0.8).passed
    skipped = EvalResult(criterion="s", method="script", infra_error="no sqlite3")
    assert combine([good, skipped]).passed  # an infrastructure skip is left out


def test_fixtures_and_inline_fixtures_are_laid_out_but_setup_script_is_not_copied(tmp_path):
    folder = make_task(
        tmp_path,
        {"fixtures": {"inline/x.txt": "inline"}},
        files={"data.csv": "a,b\n", "_setup.sh": "echo hi > made.txt"},
    )
    work = tmp_path / "work"
    prepare_work_dir(load_task(folder), work)
    assert (work / "data.csv").exists() and (work / "inline" / "x.txt").read_text() == "inline"
    assert not (work / "_setup.sh").exists()


def test_inline_fixture_escaping_the_work_dir_is_refused(tmp_path):
    folder = make_task(tmp_path, {"fixtures": {"../evil.txt": "x"}})
    with pytest.raises(TaskError, match="outside"):
        prepare_work_dir(load_task(folder), tmp_path / "work")


async def test_run_task_end_to_end_with_a_scripted_model(tmp_path):
    from skvm_core.llm import ScriptedModel, register_scripted

    task = load_task(SAMPLE_SKILLS / "tasks" / "invoice-three")
    invoices = sorted(p.stem for p in (task.fixtures_dir / "invoices").iterdir())
    commands = " && ".join(
        f"python3 scripts/invoice_total.py invoices/{i}.json --tax 20 > totals/{i}.txt"
        for i in invoices
    )
    model = ScriptedModel(
        [turn(call("execute_command", command=f"mkdir -p totals && {commands}")), turn(text="done")]
    )
    workspace = Workspace(tmp_path / "ws")
    outcome = await run_task(task, register_scripted(model), workspace=workspace)
    assert outcome.run.status == "ok"
    assert outcome.score.passed and outcome.score.score == 1.0, outcome.score
    stored = json.loads((outcome.run_dir / "result.json").read_text())
    assert stored["score"]["passed"] is True
    assert (outcome.run_dir / "trace.jsonl").is_file()
    assert not (outcome.run_dir / "work").exists()  # not kept


async def test_setup_script_runs_in_the_work_dir(tmp_path):
    from skvm_core.llm import ScriptedModel, register_scripted

    folder = make_task(
        tmp_path,
        {
            "eval": [
                {
                    "method": "file-check",
                    "path": "made.txt",
                    "mode": "contains",
                    "expected": "from setup",
                }
            ]
        },
        files={"_setup.sh": "echo 'from setup' > made.txt"},
    )
    model = ScriptedModel([turn(text="nothing to do"), turn(text="still nothing")])
    outcome = await run_task(
        load_task(folder), register_scripted(model), workspace=Workspace(tmp_path / "ws"), keep=True
    )
    assert outcome.score.passed and outcome.setup_note == ""
