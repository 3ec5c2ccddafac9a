"""The workbench's bench screen: stored sessions as a matrix, drill-down to runs and traces,
a live bench started from the screen, damaged sessions reported without a crash."""

import json

import pytest
from textual.widgets import DataTable, OptionList
from textual.worker import WorkerState

from skvm_core.bench.orchestrator import Bench, BenchPlan
from skvm_core.bench.sessions import list_sessions, load_session
from skvm_core.errors import SkvmError
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_tui.screens.bench import BenchScreen, RunTraceScreen
from skvm_tui.widgets.trace_pane import TracePane
from tests.conftest import SAMPLE_SKILLS
from tests.workbench_helpers import WEAK, bundled_profile, make_app

SIZE = (170, 46)
PROFILE = bundled_profile(WEAK)


def counts_policy(messages, tools):
    """Solves csv-count-status only with the skill in the prompt."""
    if messages[-1]["role"] == "tool":
        return ScriptedTurn(text="done")
    good = "# Skill:" in messages[0]["content"]
    content = json.dumps({"open": 6, "closed": 8, "pending": 6} if good else {"open": 1})
    return ScriptedTurn(
        tool_calls=[
            ScriptedCall(name="write_file", arguments={"path": "counts.json", "content": content})
        ]
    )


def scripted_pair() -> tuple[list[str], dict]:
    targets = [
        register_scripted(ScriptedModel(counts_policy), name=f"bench-tui-{n}") for n in ("a", "b")
    ]
    return targets, {t: PROFILE for t in targets}


async def stored_session(app, targets) -> str:
    plan = BenchPlan(
        session="stored",
        tasks=[str(SAMPLE_SKILLS / "tasks" / "csv-count-status")],
        targets=targets,
        runs=2,
        concurrency=2,
    )
    from skvm_core.profile.tcp import load_tcp

    await Bench(plan, app.engine.workspace, profile_loader=lambda t: load_tcp(PROFILE)).run()
    return plan.session


async def drain(app, pilot) -> None:
    """Until no worker is left: a handler may start the next worker (bench → list)."""
    while True:
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
            return


async def open_bench(app, pilot) -> BenchScreen:
    await app.wait_loads(1)
    await pilot.press("b")
    await drain(app, pilot)
    screen = app.screen
    assert isinstance(screen, BenchScreen)
    return screen


def cell(screen: BenchScreen, row: int, column: int) -> str:
    return str(screen.query_one("#bench-matrix", DataTable).get_cell_at((row, column)))


async def test_stored_session_fills_the_matrix_and_drills_down_to_a_trace(tmp_path):
    targets, overrides = scripted_pair()
    app = make_app(tmp_path, skill="csv-report", targets=targets, overrides=overrides)
    async with app.run_test(size=SIZE) as pilot:
        session = await stored_session(app, targets)
        screen = await open_bench(app, pilot)
        assert screen.session_id == session and len(screen.records) == 12
        matrix = screen.query_one("#bench-matrix", DataTable)
        assert matrix.row_count == 2 and len(matrix.columns) == 4
        assert cell(screen, 0, 1).startswith("pass 0.00")  # no-skill fails
        assert cell(screen, 0, 2).startswith("pass 1.00")  # original solves it
        assert cell(screen, 1, 3).startswith("pass 1.00")  # compiled too
        assert "original − no-skill +" in str(screen.query_one("#bench-deltas").render())

        matrix.focus()
        matrix.move_cursor(row=1, column=2)
        await pilot.press("enter")
        await pilot.pause()
        runs = screen.query_one("#bench-runs", DataTable)
        assert screen.selected == (targets[1], "original") and runs.row_count == 2
        assert app.focused is runs
        await pilot.press("enter")
        await drain(app, pilot)
        trace_screen = app.screen
        assert isinstance(trace_screen, RunTraceScreen)
        assert trace_screen.record.target == targets[1] and trace_screen.events_shown > 3
        pane = trace_screen.query_one(TracePane)
        assert pane.totals["calls"] == 1 and pane.totals["status"] == "ok"
        await pilot.press("escape")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BenchScreen)


async def test_new_bench_runs_the_skills_tasks_live_and_is_listed(tmp_path):
    targets, overrides = scripted_pair()
    app = make_app(tmp_path, skill="csv-report", targets=targets, overrides=overrides)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_bench(app, pilot)
        assert "no bench sessions yet" in str(screen.query_one("#bench-title").render())
        await pilot.press("n")
        await drain(app, pilot)
        live = screen.session_id
        assert live is not None and screen.live is None
        # csv-report has three tasks; two targets × three conditions × one run each
        assert len(screen.records) == 3 * 2 * 3
        assert all(r.status == "ok" for r in screen.records.values())
        assert "3/3 runs" in cell(screen, 0, 2) and "pass 0.33" in cell(screen, 0, 2)
        options = screen.query_one("#bench-sessions", OptionList)
        assert options.option_count == 1 and options.get_option_at_index(0).id == live
        stored = load_session(app.engine.workspace, live)
        assert len(stored.records) == 18 and not stored.problems


async def test_damaged_record_and_missing_trace_are_notified_not_fatal(tmp_path):
    targets, overrides = scripted_pair()
    app = make_app(tmp_path, skill="csv-report", targets=targets[:1], overrides=overrides)
    async with app.run_test(size=SIZE) as pilot:
        session = await stored_session(app, targets[:1])
        folder = app.engine.workspace.root / "bench" / session
        records = sorted((folder / "runs").rglob("run-*.json"))
        records[0].write_text("{ not json")
        first_good = json.loads(records[1].read_text())
        from pathlib import Path

        Path(first_good["trace"]).unlink()
        screen = await open_bench(app, pilot)
        assert len(screen.records) == 5
        assert any("Damaged run record" in (n.title or "") for n in app._notifications)
        screen.selected = (first_good["target"], first_good["condition"])
        screen._fill_runs()
        runs = screen.query_one("#bench-runs", DataTable)
        runs.focus()
        key = f"{first_good['task_id']}|{first_good['target']}|{first_good['condition']}|{first_good['run']}"
        runs.move_cursor(row=runs.get_row_index(key))
        await pilot.press("enter")
        await drain(app, pilot)
        assert isinstance(app.screen, RunTraceScreen) and app.screen.events_shown == 0
        assert any("trace" in n.message and "gone" in n.message for n in app._notifications)


def test_sessions_listing_skips_foreign_folders_and_reports_a_broken_plan(tmp_path):
    from skvm_core.store.workspace import Workspace

    workspace = Workspace(tmp_path)
    (tmp_path / "bench" / "not-a-session").mkdir(parents=True)
    broken = tmp_path / "bench" / "broken"
    broken.mkdir()
    (broken / "plan.json").write_text("{}")
    assert list_sessions(workspace) == []
    with pytest.raises(SkvmError, match="plan.json is damaged"):
        load_session(workspace, "broken")
    with pytest.raises(SkvmError, match="no bench session"):
        load_session(workspace, "nope")


async def test_a_session_filled_in_by_another_process_is_followed(tmp_path):
    targets, overrides = scripted_pair()
    app = make_app(tmp_path, skill="csv-report", targets=targets, overrides=overrides)
    async with app.run_test(size=SIZE) as pilot:
        session = await stored_session(app, targets)
        record = sorted(
            (app.engine.workspace.root / "bench" / session / "runs").rglob("run-*.json")
        )[-1]
        kept = record.read_text()
        record.unlink()  # not written yet, as if `skvm bench` were still running
        screen = await open_bench(app, pilot)
        assert len(screen.records) == 11 and "11/12 done" in str(
            screen.query_one("#bench-title").render()
        )
        record.write_text(kept)
        screen._follow()  # the interval timer's callback
        await drain(app, pilot)
        assert len(screen.records) == 12 and "12/12 done" in str(
            screen.query_one("#bench-title").render()
        )
        screen._follow()  # complete now: nothing more to load
        assert not any(
            w.state == WorkerState.RUNNING for w in app.workers if w.group == "bench-load"
        )
