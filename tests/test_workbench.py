"""Pilot tests for the workbench: every action, messages asserted, workers awaited."""

import json
import stat
from pathlib import Path

import pytest

from skvm_tui.screens.modals import CellDetailScreen, HelpScreen, TaskPicker
from skvm_tui.widgets.trace_pane import TracePane
from skvm_tui.widgets.variant_view import VariantView
from tests.workbench_helpers import STRONG, WEAK, bundled_profile, make_app

SIZE = (150, 46)


def scripted_target(tmp_path: Path, turns: list) -> tuple[str, dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "turns.json"
    script.write_text(json.dumps({"turns": turns}))
    model = f"scripted/{script}"
    return model, {model: bundled_profile(WEAK)}


async def settle(app, pilot, loads: int = 1) -> None:
    """The first load has finished (an event), then every other worker too."""
    await app.wait_loads(loads)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_start_up_loads_skill_profiles_and_compiles_every_target(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        kinds = app.kinds()
        assert (
            kinds.count("SkillLoaded") == 1
            and kinds.count("ProfilesLoaded") == 1
            and kinds.count("Compiled") == 2
        )
        assert set(app.results) == {WEAK, STRONG}
        body = str(app.query_one("#variant-0", VariantView).query_one("#variant-body").render())
        # The weak target's variant is lowered to the skill's verified script.
        assert "python3 scripts/summarise.py" in body and "These are the example's names" in body


async def test_compile_action_recompiles_all_targets(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        before = app.compiles
        await pilot.press("c")
        await settle(app, pilot, loads=2)
        assert app.compiles == before + 2


async def test_run_action_streams_the_trace_and_reports_the_score(tmp_path):
    counts = json.dumps({"open": 6, "closed": 8, "pending": 6})
    model, overrides = scripted_target(
        tmp_path,
        [
            {
                "tool_calls": [
                    {"name": "write_file", "arguments": {"path": "counts.json", "content": counts}}
                ]
            },
            {"text": "done"},
        ],
    )
    app = make_app(tmp_path, skill="csv-report", targets=[model], overrides=overrides)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.task_id = "csv-count-status"
        await pilot.press("r")
        await settle(app, pilot)
        trace = app.query_one(TracePane)
        trace.flush(everything=True)
        assert "RunDone" in app.kinds() and app.kinds().count("TraceEvent") >= 6
        outcome = app.last_runs[model]
        assert outcome.score.passed and outcome.run.status == "ok"
        assert trace.totals["calls"] == 1 and trace.totals["status"].startswith("ok")
        # The run used the compiled variant for this target.
        assert outcome.run.skill_loaded


async def test_run_all_targets_side_by_side(tmp_path):
    model_a, over_a = scripted_target(tmp_path / "a", [{"text": "a"}, {"text": "a"}])
    model_b, over_b = scripted_target(tmp_path / "b", [{"text": "b"}, {"text": "b"}])
    app = make_app(
        tmp_path, skill="csv-report", targets=[model_a, model_b], overrides={**over_a, **over_b}
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert set(app.last_runs) == {model_a, model_b}
        assert [type(m).__name__ for m in app.posted].count("RunDone") == 2


async def test_choose_task_with_the_picker(tmp_path):
    app = make_app(tmp_path, skill="csv-report")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TaskPicker)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, TaskPicker)
        ids = sorted(t.id for t in app.engine.tasks_for(app.skill))
        assert app.task_id == ids[1] and app.settings.last_task["csv-report"] == ids[1]


async def test_toggle_diff_and_watch(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        view = app.query_one("#variant-0", VariantView)
        diff_body = str(view.query_one("#variant-body").render())
        await pilot.press("d")
        await pilot.pause()
        assert app.settings.diff_view is False
        assert str(view.query_one("#variant-body").render()) != diff_body
        await pilot.press("w")
        await pilot.pause()
        assert app.settings.watch is True and app._watch_stop is not None
        await pilot.press("w")
        await pilot.pause()
        assert app.settings.watch is False and app._watch_stop is None


async def test_saving_skill_md_recompiles_and_updates_the_diff(tmp_path):
    app = make_app(tmp_path, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_compiles(len(app.targets))
        before = app.compiles
        skill_md = app.skill_dir / "SKILL.md"
        skill_md.write_text(
            skill_md.read_text().replace(
                "## Checks\n\n", "## Checks\n\n- Note added by the author.\n"
            )
        )
        await app.wait_compiles(before + 2)
        await pilot.pause()
        assert "SkillChanged" in app.kinds()
        body = str(app.query_one("#variant-0", VariantView).query_one("#variant-body").render())
        assert "Note added by the author." in body


async def test_open_in_editor_runs_the_editor_and_recompiles(tmp_path, monkeypatch):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "\\nEdited in the editor.\\n" >> "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(editor))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        before = app.compiles
        await pilot.press("e")
        await settle(app, pilot, loads=2)
        assert "Edited in the editor." in (app.skill_dir / "SKILL.md").read_text()
        assert app.compiles == before + 2


async def test_help_and_heatmap_cell_detail(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        heatmap = app.query_one("#heatmap")
        heatmap.focus()
        heatmap.move_cursor(row=1, column=2)  # row 0 names the protocols
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CellDetailScreen)
        assert f"gen.code.python on {WEAK}" in str(app.screen.body)


async def test_profile_action_profiles_and_refreshes(tmp_path):
    model, _ = scripted_target(tmp_path, [])
    from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted

    model = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text="42")), name="wb-profile"
    )
    app = make_app(tmp_path, skill="csv-report", targets=[model])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "WorkFailed" in app.kinds()  # no profile yet: said so, app keeps running
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await settle(app, pilot, loads=2)
        assert "ProfileProgress" in app.kinds()
        assert app.profiles[model] is not None and len(app.profiles[model].capabilities) == 26
        assert model in app.results


async def test_a_broken_skill_is_a_notification_not_a_crash(tmp_path):
    app = make_app(tmp_path)
    (app.skill_dir / "SKILL.md").write_text("no front matter\n")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        failures = [m for m in app.posted if type(m).__name__ == "WorkFailed"]
        assert failures and "front matter" in failures[0].error
        assert app.is_running


async def test_palette_lists_namespaced_commands(tmp_path):
    from skvm_tui.palette import COMMANDS

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        actions = {action for _title, action, _help in COMMANDS}
        for action in actions:
            assert hasattr(app, f"action_{action}"), action
        assert all(title.startswith("Workbench: ") for title, _a, _h in COMMANDS)


def test_binding_ids_are_unique_and_namespaced():
    from skvm_tui.app import WorkbenchApp

    ids = [b.id for b in WorkbenchApp.BINDINGS]
    assert len(ids) == len(set(ids)) and all(i.startswith("workbench.") for i in ids)


@pytest.mark.local_model
async def test_running_a_sample_task_on_the_small_local_model(tmp_path):
    target = WEAK
    app = make_app(tmp_path, skill="invoice-batch", targets=[target])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.task_id = "invoice-three"
        await pilot.press("r")
        await settle(app, pilot)
        trace = app.query_one(TracePane)
        trace.flush(everything=True)
        assert trace.events_drawn > 3
        assert target in app.last_runs
        score = app.last_runs[target].score
        judged = [r for r in score.results if r.infra_error is None]
        assert score.tainted or score.passed == all(r.passed for r in judged)


async def test_trace_leaves_are_made_when_a_call_is_first_opened(tmp_path):
    from skvm_core.agent.trace import ToolCallEvent, ToolResultEvent

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        pane = app.query_one(TracePane)
        pane.add(
            ToolCallEvent(
                run_id="r", step=1, call_id="c", name="read_file", arguments={"path": "a.txt"}
            )
        )
        pane.add(
            ToolResultEvent(run_id="r", step=1, call_id="c", name="read_file", output="one\ntwo")
        )
        pane.flush(everything=True)
        node = pane.calls["r:c:1"]
        assert [str(c.label) for c in node.children] == ["← ok · 0 ms"]  # arguments not made yet
        node.expand()
        await pilot.pause()
        labels = [str(c.label) for c in node.children]
        assert labels == ["path = a.txt", "← ok · 0 ms"]
        result = node.children[1]
        result.expand()
        await pilot.pause()
        assert [str(c.label) for c in result.children] == ["one", "two"]


async def test_a_run_under_solidification_shows_the_template_in_the_trace_and_jit_tab(tmp_path):
    from skvm_core.jit import JitStore, Param, Step, Template, TemplateRecord
    from skvm_core.store.workspace import Workspace
    from skvm_tui.widgets.jit_view import JitView

    model, overrides = scripted_target(tmp_path, [{"text": "never asked"}])
    counts = Template(
        skill="csv-report",
        steps=[
            Step(
                kind="command",
                text='python3 scripts/summarise.py "${SKVM_P_IN}" --by status --count --out "${SKVM_P_OUT}"',
            )
        ],
        params=[
            Param(name="in", kind="input_file", locators=["folder:.csv"]),
            Param(name="out", kind="output_file", locators=["new:.json"]),
        ],
        source="traces",
    )
    with JitStore(Workspace(tmp_path / "ws")).update("csv-report", model) as state:
        state.templates[counts.id] = TemplateRecord(template=counts, status="promoted")
        state.compiler_harvested = True
    app = make_app(tmp_path, skill="csv-report", targets=[model], overrides=overrides)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.task_id = "csv-count-status"
        await pilot.press("j", "r")
        await settle(app, pilot)
        outcome = app.last_runs[model]
        assert outcome.score.passed and outcome.run.protocol == "solidified"
        assert outcome.run.extra["solidified"]["bound"] == {
            "in": "tickets.csv",
            "out": "counts.json",
        }
        trace = app.query_one(TracePane)
        trace.flush(everything=True)
        labels = [str(node.label) for node in trace.query_one("Tree").root.children]
        assert any("acts solidified" in label for label in labels)
        body = str(app.query_one(JitView).query_one("#jit-body").render())
        assert counts.id in body and "promoted" in body and "used 1/1" in body
        assert app.settings.solidify


async def test_a_failed_run_proposes_a_fix_reviewed_and_accepted_on_the_proposals_screen(tmp_path):
    from skvm_core.optimize.proposals import ProposalStore
    from skvm_core.store.workspace import Workspace
    from skvm_tui.screens.bench import RunTraceScreen
    from skvm_tui.screens.proposals import ProposalsScreen

    # Answers in prose and never acts: the run fails with nothing written.
    model, overrides = scripted_target(tmp_path, [{"text": "I would count the statuses."}] * 4)
    app = make_app(tmp_path, skill="csv-report", targets=[model], overrides=overrides)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.task_id = "csv-count-status"
        await pilot.press("r")
        await settle(app, pilot)
        assert not app.last_runs[model].score.passed
        await pilot.press("f")
        await settle(app, pilot)
        assert "FixProposed" in app.kinds()
        store = ProposalStore(Workspace(tmp_path / "ws"))
        (proposal,) = store.all()
        assert [r.rule for r in proposal.repairs] == ["act-with-calls"]
        await pilot.press("o")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ProposalsScreen) and screen.current.id == proposal.id
        right = str(screen.query_one("#diff-proposed").render())
        assert "calling the tool `execute_command`" in right
        evidence = screen.query_one("#proposal-evidence")
        evidence.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunTraceScreen)
        await pilot.press("escape")
        await pilot.press("a")
        await settle(app, pilot)
        assert store.get(proposal.id).status == "accepted"
        accepted = store.accepted_variant("csv-report", model)
        assert accepted is not None
        # Runs on this target now use the accepted variant.
        assert app.engine.variant_skill(app.results[model], model).root == accepted
        await pilot.press("x")  # already decided: a notification, not a crash
        await pilot.pause()
        assert isinstance(app.screen, ProposalsScreen)


def test_settings_survive_a_restart_and_a_damaged_field_falls_back(tmp_path, monkeypatch):
    from skvm_tui.settings import WorkbenchSettings, load_settings, save_settings

    monkeypatch.setenv("SKVM_TUI_SETTINGS", str(tmp_path / "workbench.json"))
    save_settings(WorkbenchSettings(theme="skvm-light", solidify=True, last_task={"s": "t"}))
    assert load_settings() == WorkbenchSettings(
        theme="skvm-light", solidify=True, last_task={"s": "t"}
    )
    (tmp_path / "workbench.json").write_text('{"theme": 3, "watch": false, "last_task": [1]}')
    assert load_settings() == WorkbenchSettings(watch=False)
    (tmp_path / "workbench.json").write_text("{not json")
    assert load_settings() == WorkbenchSettings()


async def test_a_prose_skill_shows_its_static_variant_then_the_synthesised_one(
    tmp_path, monkeypatch
):
    from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
    from tests.test_synthesis import EXAMPLE, GOOD, PROSE_SKILL

    def answer(messages, tools):
        if "small test input files" in messages[0]["content"]:
            return ScriptedTurn(text=EXAMPLE)
        return ScriptedTurn(text=f"```python\n{GOOD}```")

    monkeypatch.setenv("SKVM_SYNTHESIS_MODEL", register_scripted(ScriptedModel(answer)))
    app = make_app(tmp_path, skill="csv-report", targets=[WEAK])
    (app.skill_dir / "SKILL.md").write_text(PROSE_SKILL.replace("shelf-tally", "csv-report"))
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_compiles(2)
        await app.workers.wait_for_complete()
        await pilot.pause()
        kinds = app.kinds()
        assert kinds.index("SynthesisStarted") > kinds.index("Compiled")  # static first
        compiled = [m for m in app.posted if type(m).__name__ == "Compiled"]
        assert not compiled[0].result.variant.lowered and compiled[-1].result.variant.lowered
        body = str(app.query_one("#variant-0", VariantView).query_one("#variant-body").render())
        assert "scripts/csv-report.py" in body
