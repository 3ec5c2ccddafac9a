"""Importing PinchBench and SkillsBench tasks from the shared fixtures."""

from pathlib import Path

import pytest

from skvm_core.agent.result import RunResult
from skvm_core.bench.importers import import_path
from skvm_core.run.graders import evaluate
from skvm_core.run.runner import prepare_work_dir
from skvm_core.run.task import load_task
from tests.conftest import fixtures_dir


@pytest.fixture
def imported(tmp_path) -> dict:
    results = import_path(fixtures_dir() / "bench-tasks", tmp_path / "tasks")
    return {
        Path(r.source).stem if r.source.endswith(".md") else Path(r.source).name: r for r in results
    }


# Third-party data is the point: every PinchBench and SkillsBench fixture task imports.
@pytest.mark.shared_fixtures
def test_all_fixture_tasks_import(imported):
    assert set(imported) == {
        "task_05_summary",
        "task_12_skill_search",
        "task_19_spreadsheet_summary",
        "dialogue-parser",
        "manufacturing-fjsp-optimization",
    }
    for name, result in imported.items():
        assert result.task_dir and not result.skipped, (name, result.skipped)
        task = load_task(result.task_dir)
        assert task.prompt.strip()
    assert any(
        "differs from the file name" in n for n in imported["task_19_spreadsheet_summary"].notes
    )


# Third-party data is the point: PinchBench's own fields map onto task.json.
@pytest.mark.shared_fixtures
def test_pinchbench_fields_map_onto_the_task_format(imported):
    task12 = load_task(imported["task_12_skill_search"].task_dir)
    assert task12.timeout_ms == 180_000 and task12.category == "file_ops"
    assert set(task12.fixtures) == {"config/settings.json", "config/database.yml"}
    assert [c.method for c in task12.eval] == ["python-grade"]
    task19 = load_task(imported["task_19_spreadsheet_summary"].task_dir)
    assert task19.grading_type == "hybrid" and {c.method for c in task19.eval} == {
        "python-grade",
        "llm-judge",
    }
    assert (task19.fixtures_dir / "quarterly_sales.csv").is_file() or any(
        task19.fixtures_dir.rglob("*.csv")
    )
    task05 = load_task(imported["task_05_summary"].task_dir)
    assert [c.method for c in task05.eval] == ["llm-judge"]


# Third-party data is the point: SkillsBench's skill and environment layout.
@pytest.mark.shared_fixtures
def test_skillsbench_skill_and_environment_are_laid_out(imported):
    task = load_task(imported["dialogue-parser"].task_dir)
    (skill,) = task.skill_paths()
    assert (skill / "SKILL.md").is_file()
    assert (task.fixtures_dir / "script.txt").is_file()
    assert task.eval == [] and "not scored" in (task.origin or {}).get("notes", "")


# Third-party data is the point: PinchBench's own grader runs on our work folders.
@pytest.mark.shared_fixtures
async def test_imported_pinchbench_grader_scores_a_correct_and_an_untouched_workspace(
    imported, tmp_path
):
    task = load_task(imported["task_12_skill_search"].task_dir)
    untouched = tmp_path / "untouched"
    prepare_work_dir(task, untouched)
    low = await evaluate(task, RunResult(run_id="r", model="m", status="ok", work_dir=untouched))
    done = tmp_path / "done"
    prepare_work_dir(task, done)
    for path in (done / "config").iterdir():
        text = path.read_text()
        text = text.replace("http://localhost:3000", "https://api.example.com").replace(
            "localhost", "prod-db.example.com"
        )
        text = (
            text.replace("myapp_dev", "myapp_prod")
            .replace("myapp_test", "myapp_prod")
            .replace('"debug"', '"warn"')
        )
        path.write_text(text)
    high = await evaluate(task, RunResult(run_id="r", model="m", status="ok", work_dir=done))
    assert low.score < 0.5 and high.score == pytest.approx(1.0), (low, high)
    assert {c.name for c in high.results[0].checkpoints} >= {
        "settings_host_updated",
        "yaml_db_updated",
    }


# Third-party data is the point: an imported task runs end to end.
@pytest.mark.shared_fixtures
@pytest.mark.local_model
async def test_an_imported_task_runs_end_to_end_on_the_small_local_model(imported, tmp_path):
    from skvm_core.run.runner import run_task
    from skvm_core.store.workspace import Workspace

    task = load_task(imported["task_12_skill_search"].task_dir)
    task.max_steps = 4
    outcome = await run_task(task, "local/qwen2.5-coder-0.5b", workspace=Workspace(tmp_path / "ws"))
    assert outcome.run.steps and outcome.run.status in ("ok", "timeout")
    if outcome.run.status == "ok":  # every criterion was judged (or skipped as infra)
        assert len(outcome.score.results) == len(task.eval)
    else:
        assert outcome.score.tainted and not outcome.score.results


# Third-party data is the point: PinchBench's llm-judge rubric is scored by our judge.
@pytest.mark.shared_fixtures
async def test_llm_judge_scores_through_the_model_layer_and_reports_infra_errors(
    imported, tmp_path
):
    from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted

    task = load_task(imported["task_05_summary"].task_dir)
    work = tmp_path / "w"
    prepare_work_dir(task, work)
    (work / "summary.md").write_text("A short summary.")
    run = RunResult(
        run_id="r", model="m", status="ok", work_dir=work, final_text="Wrote summary.md"
    )
    judge = register_scripted(
        ScriptedModel(
            [
                ScriptedTurn(
                    tool_calls=[
                        ScriptedCall(
                            name="submit_score",
                            arguments={"score": 0.8, "reasoning": "covers the main points"},
                        )
                    ]
                )
            ]
        )
    )
    scored = await evaluate(task, run, judge_model=judge)
    (result,) = scored.results
    assert (
        result.score == pytest.approx(0.8) and result.passed and "main points" in result.details
    ), result
    assert result.judge_usage is not None and result.judge_usage.input > 0
    down = register_scripted(ScriptedModel([ScriptedTurn(fault="server_error")] * 5))
    from skvm_core.llm import client

    original = client.CallOptions
    skipped = await evaluate(task, run, judge_model=down)
    assert skipped.skipped and "judge unavailable" in skipped.results[0].infra_error
    assert original is client.CallOptions
    unset = await evaluate(task, run)
    assert unset.skipped and "no judge model" in unset.results[0].infra_error
