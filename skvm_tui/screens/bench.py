"""The bench screen: stored and live bench sessions as a matrix of targets × conditions,
drill-down from a cell to its runs and from a run to its trace.

Workers only post messages (`BenchSessionsListed`, `BenchLoaded`, `BenchRecorded`,
`BenchFinished`, `RunTraceLoaded`); the handlers here update the widgets. The screen is
installed once by the app, so a live bench keeps running while the user is back on the
main view.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from skvm_core.errors import SkvmError
from skvm_tui.messages import (
    BenchFinished,
    BenchLoaded,
    BenchRecorded,
    BenchSessionsListed,
    RunTraceLoaded,
    WorkFailed,
)
from skvm_tui.widgets.trace_pane import TracePane

if TYPE_CHECKING:
    from skvm_core.bench.orchestrator import BenchPlan, RunRecord
    from skvm_core.bench.report import BenchReport, Cell
    from skvm_core.run.task import Task
    from skvm_tui.engine import Engine


FOLLOW_INTERVAL_S = 5.0


def expected_total(plan: BenchPlan) -> int:
    from skvm_core.bench.sessions import expected_runs

    return expected_runs(plan)


def _num(value: float, pattern: str = "{:.2f}") -> str:
    return "—" if value is None or math.isnan(value) else pattern.format(value)


def cell_text(cell: Cell | None, expected: int) -> Text:
    """One matrix cell: pass rate, mean score with its interval, runs done."""
    if cell is None:
        return Text(f"—\n\n0/{expected} runs", style="dim")
    style = (
        "dim"
        if cell.graded == 0
        else (
            "bold green"
            if cell.pass_rate >= 0.67
            else "yellow"
            if cell.pass_rate >= 0.34
            else "red"
        )
    )
    text = Text(f"pass {_num(cell.pass_rate)}", style=style)
    text.append(f" · mean {_num(cell.mean_score)}")
    per_run = (cell.tokens_in + cell.tokens_out) / cell.graded if cell.graded else 0
    text.append(
        f"\nCI {_num(cell.score_low)}–{_num(cell.score_high)} · {per_run / 1000:.1f}k tok",
        style="dim",
    )
    text.append(f"\n{cell.runs}/{expected} runs", style="dim")
    if cell.tainted:
        text.append(f" · {len(cell.tainted)} tainted", style="bold magenta")
    return text


def record_row(record: RunRecord) -> tuple:
    if record.tainted:
        verdict = Text(record.status if record.status != "ok" else "error", style="bold magenta")
    elif record.skipped:
        verdict = Text("skipped", style="dim")
    else:
        verdict = Text(
            "pass" if record.passed else "fail", style="green" if record.passed else "red"
        )
    return (
        record.task_id,
        str(record.run),
        verdict,
        f"{record.score:.2f}",
        f"{record.usage.total:,}",
        f"{record.wall_ms / 1000:.1f}",
        escape((record.error or "")[:80]),
    )


class RunTraceScreen(ModalScreen[None]):
    """One bench run: its verdict and its stored trace, drawn by the live trace widget."""

    DEFAULT_CSS = """
    RunTraceScreen { align: center middle; }
    RunTraceScreen > Vertical { width: 90%; height: 90%; border: round $primary; background: $surface; }
    RunTraceScreen #run-summary { height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="bench.trace.close")]

    def __init__(self, engine: Engine, record: RunRecord) -> None:
        super().__init__()
        self.engine = engine
        self.record = record
        self.events_shown = 0

    def compose(self) -> ComposeResult:
        r = self.record
        summary = Text(f"{r.task_id} · {r.target} · {r.condition} · run {r.run}\n", style="bold")
        summary.append(
            f"{r.status} · score {r.score:.2f} · {'passed' if r.passed else 'failed'} · "
            f"{r.usage.input:,}→{r.usage.output:,} tokens · wall {r.wall_ms / 1000:.1f} s"
        )
        if r.error:
            summary.append(f"\n{r.error}", style="bold red")
        with Vertical():
            yield Static(summary, id="run-summary")
            yield TracePane(id="run-trace")

    def on_mount(self) -> None:
        self.load_trace()

    @work(thread=True, exclusive=True, group="trace")
    def load_trace(self) -> None:
        try:
            events = self.engine.run_trace(self.record)
        except SkvmError as exc:
            self.post_message(WorkFailed("No trace", str(exc)))
            events = []
        self.post_message(RunTraceLoaded(events))

    def on_run_trace_loaded(self, message: RunTraceLoaded) -> None:
        pane = self.query_one(TracePane)
        for event in message.events:
            pane.add(event)
        pane.flush(everything=True)
        self.events_shown = len(message.events)


class BenchScreen(Screen[None]):
    DEFAULT_CSS = """
    BenchScreen #bench-body { height: 1fr; }
    BenchScreen #bench-sessions { width: 30; height: 1fr; border: round $secondary; }
    BenchScreen #bench-main { width: 1fr; }
    BenchScreen #bench-title { height: auto; padding: 0 1; background: $panel; }
    BenchScreen #bench-matrix { height: auto; max-height: 20; border: round $primary; }
    BenchScreen #bench-deltas { height: auto; padding: 0 1; }
    BenchScreen #bench-runs { height: 1fr; border: round $secondary; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="bench.back"),
        Binding("n", "new_bench", "Bench this skill", id="bench.new"),
        Binding("f5", "refresh", "Refresh", id="bench.refresh"),
    ]

    def __init__(self, engine: Engine, targets: list[str], tasks: Callable[[], list[Task]]) -> None:
        super().__init__()
        self.engine = engine
        self.targets = targets
        self.tasks_source = tasks  # () -> tasks of the skill in the workbench right now
        self.session_id: str | None = None
        self.plan: BenchPlan | None = None
        self.records: dict[tuple[str, str, str, int], RunRecord] = {}
        self.report: BenchReport | None = None
        self.selected: tuple[str, str] | None = None
        self.live: str | None = None  # session being run from here

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="bench-body"):
            yield OptionList(id="bench-sessions")
            with Vertical(id="bench-main"):
                yield Static("no session selected", id="bench-title")
                yield DataTable(id="bench-matrix", cursor_type="cell", zebra_stripes=True)
                yield Static("", id="bench-deltas")
                yield DataTable(id="bench-runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#bench-sessions").border_title = "sessions"
        self.query_one(
            "#bench-matrix"
        ).border_title = (
            "targets × conditions: pass rate, mean score, its 95% CI, tokens per run (enter: runs)"
        )
        self.query_one("#bench-runs").border_title = "runs (enter: trace)"
        self.query_one("#bench-runs", DataTable).add_columns(
            "task", "run", "verdict", "score", "tokens", "wall s", "error"
        )
        self.list_sessions()
        # A session another process is running (`skvm bench`) fills in on disk: follow it.
        self.set_interval(FOLLOW_INTERVAL_S, self._follow)

    def _follow(self) -> None:
        if (
            self.is_current
            and self.session_id is not None
            and self.live != self.session_id
            and self.plan is not None
            and len(self.records) < expected_total(self.plan)
        ):
            self.load_session(self.session_id)

    # --- workers ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="bench-list")
    def list_sessions(self) -> None:
        try:
            self.post_message(BenchSessionsListed(self.engine.bench_sessions()))
        except (SkvmError, OSError) as exc:
            self.post_message(WorkFailed("Bench sessions", str(exc)))

    @work(thread=True, exclusive=True, group="bench-load")
    def load_session(self, session: str) -> None:
        try:
            self.post_message(BenchLoaded(session, self.engine.bench_session(session)))
        except SkvmError as exc:
            self.post_message(WorkFailed("Bench session", str(exc)))

    @work(exclusive=True, group="bench-run")
    async def run_bench(self, plan: BenchPlan) -> None:
        def progress(record: RunRecord, done: int, total: int) -> None:
            self.post_message(BenchRecorded(plan.session, record, done, total))

        try:
            await self.engine.run_bench(plan, progress)
        except SkvmError as exc:
            self.post_message(BenchFinished(plan.session, str(exc)))
            return
        self.post_message(BenchFinished(plan.session))

    # --- drawing --------------------------------------------------------------------------
    def _rebuild(self) -> None:
        from skvm_core.bench.report import build_report

        if self.session_id is None or self.plan is None:
            return
        self.report = build_report(self.session_id, list(self.records.values()))
        cells = {(c.target, c.condition): c for c in self.report.cells}
        per_cell = len(self.plan.tasks) * self.plan.runs
        matrix = self.query_one("#bench-matrix", DataTable)
        matrix.clear(columns=True)
        matrix.add_column("target", key="target")
        for condition in self.plan.matrix_conditions():
            matrix.add_column(condition, key=condition)
        for target in self.plan.targets:
            matrix.add_row(
                target,
                *[
                    cell_text(cells.get((target, c)), per_cell)
                    for c in self.plan.matrix_conditions()
                ],
                key=target,
                height=3,
            )
        deltas = Text()
        for d in self.report.deltas:
            style = "green" if d.mean_delta > 0 else "red" if d.mean_delta < 0 else "dim"
            deltas.append(f"{d.target}: {d.other} − {d.base} ", style="bold")
            deltas.append(f"{d.mean_delta:+.3f}", style=style)
            deltas.append(
                f" ({_num(d.low, '{:+.3f}')} to {_num(d.high, '{:+.3f}')}) over {d.tasks} tasks · "
                f"{d.wins} better, {d.losses} worse, {d.ties} tied · tokens ×{_num(d.token_ratio)}\n"
            )
        self.query_one("#bench-deltas", Static).update(deltas)
        self._title()
        self._fill_runs()

    def _title(self, extra: str = "") -> None:
        if self.session_id is None or self.plan is None:
            return
        total = expected_total(self.plan)
        live = " · running" if self.live == self.session_id else ""
        text = f"{self.session_id} · {len(self.plan.tasks)} tasks × {self.plan.runs} runs · {len(self.records)}/{total} done{live}"
        self.query_one("#bench-title", Static).update(text + (f" · {extra}" if extra else ""))

    def _fill_runs(self) -> None:
        table = self.query_one("#bench-runs", DataTable)
        table.clear()
        if self.selected is None:
            return
        target, condition = self.selected
        table.border_title = f"runs · {target} · {condition} (enter: trace)"
        for key in sorted(k for k in self.records if k[1] == target and k[2] == condition):
            table.add_row(*record_row(self.records[key]), key="|".join(map(str, key)))

    def _show(self, session: str, plan: BenchPlan, records: list[RunRecord]) -> None:
        self.session_id, self.plan = session, plan
        self.records = {(r.task_id, r.target, r.condition, r.run): r for r in records}
        if self.selected is None or self.selected[0] not in plan.targets:
            self.selected = (plan.targets[0], plan.matrix_conditions()[0]) if plan.targets else None
        self._rebuild()

    # --- message handlers -------------------------------------------------------------------
    def on_bench_sessions_listed(self, message: BenchSessionsListed) -> None:
        options = self.query_one("#bench-sessions", OptionList)
        options.clear_options()
        for s in message.sessions:
            mark = "✓" if s.complete else f"{s.finished}/{s.expected}"
            targets = ", ".join(t.rsplit("/", 1)[-1] for t in s.targets)
            options.add_option(Option(f"{s.session}\n  {mark} · {escape(targets)}", id=s.session))
        if not message.sessions:
            self.query_one("#bench-title", Static).update(
                "no bench sessions yet: press n to bench this skill, or run `skvm bench`"
            )
        else:
            ids = [s.session for s in message.sessions]
            options.highlighted = ids.index(self.session_id) if self.session_id in ids else 0

    @on(OptionList.OptionHighlighted, "#bench-sessions")
    def _session_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.session_id:
            self.load_session(event.option.id)

    def on_bench_loaded(self, message: BenchLoaded) -> None:
        self._show(message.session, message.data.plan, message.data.records)
        for problem in message.data.problems[:3]:
            self.app.notify(escape(problem), title="Damaged run record", severity="warning")

    def on_bench_recorded(self, message: BenchRecorded) -> None:
        if message.session != self.session_id:
            return
        r = message.record
        self.records[(r.task_id, r.target, r.condition, r.run)] = r
        self._rebuild()

    def on_bench_finished(self, message: BenchFinished) -> None:
        self.live = None
        if message.error:
            self.app.notify(
                escape(message.error), title="Bench stopped", severity="error", timeout=8
            )
        else:
            self.app.notify(f"bench {message.session} finished", title="Bench")
        self._title()
        self.list_sessions()

    @on(DataTable.CellSelected, "#bench-matrix")
    @on(DataTable.CellHighlighted, "#bench-matrix")
    def _cell_chosen(self, event: DataTable.CellSelected | DataTable.CellHighlighted) -> None:
        if self.plan is None or event.coordinate.column == 0:
            return
        row = event.coordinate.row
        column = event.coordinate.column - 1
        if row < len(self.plan.targets) and column < len(self.plan.matrix_conditions()):
            self.selected = (self.plan.targets[row], self.plan.matrix_conditions()[column])
            self._fill_runs()
            if isinstance(event, DataTable.CellSelected):
                self.query_one("#bench-runs", DataTable).focus()

    @on(DataTable.RowSelected, "#bench-runs")
    def _run_chosen(self, event: DataTable.RowSelected) -> None:
        task_id, target, condition, run = str(event.row_key.value).split("|")
        record = self.records.get((task_id, target, condition, int(run)))
        if record is not None:
            self.app.push_screen(RunTraceScreen(self.engine, record))

    # --- actions ------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.list_sessions()
        if self.session_id:
            self.load_session(self.session_id)

    def action_new_bench(self) -> None:
        if self.live is not None:
            self.notify(f"bench {self.live} is still running", severity="warning")
            return
        tasks: list[Task] = self.tasks_source()
        if not tasks:
            self.notify(
                "this skill has no tasks to bench (add some under tasks/)", severity="warning"
            )
            return
        plan = self.engine.bench_plan(tasks, self.targets)
        self.live = plan.session
        self._show(plan.session, plan, [])
        self.notify(
            f"benching {len(tasks)} tasks × {len(self.targets)} targets × {len(plan.matrix_conditions())} conditions"
        )
        self.run_bench(plan)
