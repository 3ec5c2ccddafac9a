"""SVG snapshots of the workbench at a fixed size (pytest-textual-snapshot)."""

from skvm_core.agent.trace import (
    ErrorEvent,
    LlmRequest,
    LlmResponse,
    RunFinished,
    RunStarted,
    ToolCallEvent,
    ToolResultEvent,
)
from skvm_core.llm.types import ToolCall, Usage
from skvm_tui.widgets.trace_pane import TracePane
from tests.workbench_helpers import make_app

SIZE = (150, 46)


async def _settled(pilot) -> None:
    await pilot.app.wait_loads(1)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_main_screen(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=_settled)


def test_heatmap_cell_detail(snap_compare, tmp_path):
    async def open_cell(pilot) -> None:
        await _settled(pilot)
        heatmap = pilot.app.query_one("#heatmap")
        heatmap.focus()
        heatmap.move_cursor(row=16, column=2)  # tool.file.write on the weak target
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=open_cell)


FINISHED_RUN = [
    RunStarted(
        run_id="demo",
        model="qwen/qwen3.5-9b",
        prompt="Total the invoices",
        work_dir="/work",
        skill="invoice-batch",
        skill_mode="inject",
        sandbox="bubblewrap",
    ),
    LlmRequest(run_id="demo", step=1, messages=2, tokens_estimate=900),
    LlmResponse(
        run_id="demo",
        step=1,
        text="I will list the invoices.",
        tool_calls=[ToolCall(id="c1", name="list_directory", arguments={"path": "invoices"})],
        usage=Usage(input=900, output=40),
        latency_ms=812,
        format_repairs=["tool_call_tags"],
    ),
    ToolCallEvent(
        run_id="demo", step=1, call_id="c1", name="list_directory", arguments={"path": "invoices"}
    ),
    ToolResultEvent(
        run_id="demo",
        step=1,
        call_id="c1",
        name="list_directory",
        output="INV-0001.json  (127 bytes)\nINV-0002.json  (131 bytes)",
        duration_ms=2,
    ),
    LlmRequest(run_id="demo", step=2, messages=4, tokens_estimate=1100),
    LlmResponse(
        run_id="demo",
        step=2,
        text="",
        tool_calls=[
            ToolCall(
                id="c2",
                name="execute_command",
                arguments={
                    "command": "python3 scripts/invoice_total.py invoices/INV-0001.json --tax 20"
                },
            )
        ],
        usage=Usage(input=1100, output=55),
        latency_ms=1020,
    ),
    ToolCallEvent(
        run_id="demo",
        step=2,
        call_id="c2",
        name="execute_command",
        arguments={"command": "python3 scripts/invoice_total.py invoices/INV-0001.json --tax 20"},
    ),
    ToolResultEvent(
        run_id="demo",
        step=2,
        call_id="c2",
        name="execute_command",
        output="[stderr]\nNo such file: totals/\n[exit code 1]",
        ok=False,
        exit_code=1,
        duration_ms=48,
    ),
    ErrorEvent(
        run_id="demo",
        step=2,
        kind="retry",
        message="attempt 1 failed (RateLimitError); retrying in 1.0 s",
    ),
    LlmResponse(
        run_id="demo",
        step=3,
        text="Done: totals written.",
        usage=Usage(input=1300, output=12),
        latency_ms=640,
    ),
    RunFinished(
        run_id="demo",
        step=3,
        status="ok",
        steps=3,
        usage=Usage(input=3300, output=107),
        cost_usd=0.0,
        wall_ms=3120,
        model_ms=2472,
    ),
]


def test_trace_of_a_finished_run(snap_compare, tmp_path):
    async def show_trace(pilot) -> None:
        await _settled(pilot)
        pane = pilot.app.query_one(TracePane)
        for event in FINISHED_RUN:
            pane.add(event)
        pane.flush(everything=True)
        await pilot.pause()

    assert snap_compare(
        make_app(tmp_path, skill="invoice-batch"), terminal_size=SIZE, run_before=show_trace
    )


def test_gap_inspector(snap_compare, tmp_path):
    async def show_gaps(pilot) -> None:
        await _settled(pilot)
        pilot.app.query_one("#lower").active = "gaps-tab"
        await pilot.pause()

    assert snap_compare(
        make_app(tmp_path, skill="log-triage"), terminal_size=SIZE, run_before=show_gaps
    )


def _fixed_session(workspace_root) -> None:
    """A stored bench session with fixed numbers (no clock, no model): 2 tasks × 2 runs."""
    from skvm_core.bench.orchestrator import BenchPlan, RunRecord, record_path

    folder = workspace_root / "bench" / "sample"
    plan = BenchPlan(
        session="sample",
        tasks=["tasks/csv-count-status", "tasks/csv-mean-score"],
        targets=["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"],
        runs=2,
    )
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(plan.model_dump_json())
    scores = {"no-skill": (0.0, 0.3), "original": (0.7, 1.0), "compiled": (1.0, 1.0)}
    for t_index, target in enumerate(plan.targets):
        for task in ("csv-count-status", "csv-mean-score"):
            for condition, (low, high) in scores.items():
                for run in range(2):
                    score = high if (run + t_index) % 2 else low
                    record = RunRecord(
                        task_id=task, target=target, condition=condition, run=run,
                        status="ok" if (task, run, condition) != ("csv-mean-score", 1, "no-skill") else "timeout",
                        score=score, passed=score >= 1.0,
                        usage=Usage(input=1200 + 300 * run, output=80), wall_ms=9000 + 1000 * run,
                    )  # fmt: skip
                    path = record_path(folder, task, target, condition, run)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(record.model_dump_json())


def test_bench_screen(snap_compare, tmp_path):
    app = make_app(tmp_path)
    _fixed_session(app.engine.workspace.root)

    async def open_bench(pilot) -> None:
        await _settled(pilot)
        await pilot.press("b")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        matrix = pilot.app.screen.query_one("#bench-matrix")
        matrix.focus()
        matrix.move_cursor(row=0, column=1)  # the 0.5B without the skill: one timed-out run
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_bench)


def test_proposals_screen(snap_compare, tmp_path):
    from skvm_core.optimize.proposals import Proposal, ProposalStore, RepairNote, Scores
    from skvm_core.store.workspace import Workspace

    store = ProposalStore(Workspace(tmp_path / "ws"))
    variant = tmp_path / "variant"
    variant.mkdir()
    base = "---\nname: csv-report\ndescription: Summarise a CSV.\n---\n\n# CSV report\n\n## Steps\n\n1. Run the script.\n"
    (variant / "SKILL.md").write_text(
        base.replace(
            "## Steps\n", "## Steps\n\nBefore writing into a folder, create it: `mkdir -p out`.\n"
        )
    )
    store.create(
        Proposal(
            id="20261129-120000-csv-report-ab12",
            skill="csv-report",
            target="local/qwen2.5-coder-1.5b",
            created=0,
            source="optimize:demo",
            repairs=[
                RepairNote(
                    rule="create-output-folder",
                    kind="missing_path",
                    summary="Before writing into a folder, create it: `mkdir -p out`.",
                    runs=["20261129-115900-csv-count-status-1-aa11"],
                )
            ],
            evidence_runs=["20261129-115900-csv-count-status-1-aa11"],
            before=Scores(tasks=1, runs=3, mean=0.33, low=0.0, high=1.0, pass_rate=0.33),
            after=Scores(tasks=1, runs=3, mean=1.0, low=1.0, high=1.0, pass_rate=1.0),
            tokens_spent=41_000,
            base_text=base,
        ),
        variant,
    )

    async def open_proposals(pilot) -> None:
        await _settled(pilot)
        await pilot.press("o")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=open_proposals)
