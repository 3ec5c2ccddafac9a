"""Proposals: changes to a target's variant, each with its repairs, evidence and scores,
shown side by side with the variant it changes; accepted or rejected here."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from skvm_core.errors import SkvmError
from skvm_core.textdiff import opcodes
from skvm_tui.messages import ProposalsListed, WorkFailed

if TYPE_CHECKING:
    from skvm_tui.engine import Engine


def side_by_side(current: str, proposed: str) -> tuple[Text, Text]:
    """The two texts with what the proposal removes (left) and adds (right) marked."""
    left, right = Text(), Text()
    a, b = current.splitlines(), proposed.splitlines()
    for tag, i1, i2, j1, j2 in opcodes(a, b):
        for line in a[i1:i2]:
            left.append(line + "\n", style="" if tag == "equal" else "red")
        for line in b[j1:j2]:
            right.append(line + "\n", style="" if tag == "equal" else "bold green")
    return left, right


def _score(scores: Any) -> str:
    if scores is None or scores.mean is None or math.isnan(scores.mean):
        return "not measured"
    if scores.tasks < 2 or scores.low is None or scores.high is None:
        return f"{scores.mean:.2f} ({scores.tasks} task)"
    return f"{scores.mean:.2f} ({scores.low:.2f}–{scores.high:.2f})"


def summary(proposal: Any) -> Text:
    text = Text(f"{proposal.id} · {proposal.skill} on {proposal.target} · ", style="bold")
    text.append(
        proposal.status,
        style={"pending": "yellow", "accepted": "green"}.get(proposal.status, "red"),
    )
    text.append(f" · from {proposal.source}\n")
    text.append(f"held-out score: {_score(proposal.before)} → {_score(proposal.after)}")
    cost = "unknown" if proposal.cost_usd is None else f"${proposal.cost_usd:.4f}"
    text.append(f" · spent {proposal.tokens_spent:,} tokens, {cost}\n", style="dim")
    if getattr(proposal, "synthetic_tasks", False):
        text.append(
            "measured on synthetic tasks (built from the skill's contract)\n", style="yellow"
        )
    for repair in proposal.repairs:
        text.append(f"• {repair.rule} ({repair.kind}): {repair.summary}\n")
    return text


class ProposalsScreen(Screen[None]):
    DEFAULT_CSS = """
    ProposalsScreen #proposals-list { height: auto; max-height: 10; border: round $primary; }
    ProposalsScreen #proposal-summary { height: auto; padding: 0 1; }
    ProposalsScreen #proposal-diff { height: 1fr; }
    ProposalsScreen #proposal-diff VerticalScroll { width: 1fr; border: round $secondary; }
    ProposalsScreen #proposal-evidence { height: auto; max-height: 8; border: round $secondary; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="proposals.back"),
        Binding("a", "accept", "Accept", id="proposals.accept"),
        Binding("x", "reject", "Reject", id="proposals.reject"),
        Binding("f5", "refresh", "Refresh", id="proposals.refresh"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.proposals: list[Any] = []
        self.texts: dict[str, tuple[str, str]] = {}
        self.current: Any = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="proposals-list", cursor_type="row")
            yield Static("no proposal selected", id="proposal-summary")
            with Horizontal(id="proposal-diff"):
                with VerticalScroll(id="diff-current-box"):
                    yield Static("", id="diff-current")
                with VerticalScroll(id="diff-proposed-box"):
                    yield Static("", id="diff-proposed")
            yield DataTable(id="proposal-evidence", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#proposals-list", DataTable)
        table.add_columns(
            "proposal", "status", "skill · target", "repairs", "held-out before → after"
        )
        self.query_one("#proposal-evidence", DataTable).add_columns(
            "evidence run (enter opens its trace)"
        )
        self.query_one("#diff-current-box").border_title = "current variant"
        self.query_one("#diff-proposed-box").border_title = "proposed"
        self.list_proposals()

    @work(thread=True, exclusive=True, group="proposals")
    def list_proposals(self) -> None:
        try:
            proposals, texts = self.engine.proposals()
        except SkvmError as exc:
            self.post_message(WorkFailed("Proposals", str(exc)))
            return
        self.post_message(ProposalsListed(proposals, texts))

    def on_proposals_listed(self, message: ProposalsListed) -> None:
        self.proposals, self.texts = message.proposals, message.texts
        table = self.query_one("#proposals-list", DataTable)
        table.clear()
        for p in self.proposals:
            table.add_row(
                p.id,
                p.status,
                escape(f"{p.skill} · {p.target}"),
                escape(", ".join(r.rule for r in p.repairs)),
                f"{_score(p.before)} → {_score(p.after)}",
                key=p.id,
            )
        if self.proposals:
            self.show(self.proposals[0])
        else:
            self.query_one("#proposal-summary", Static).update(
                "No proposals yet: `skvm optimize` makes them, and so does `f` in the Gaps tab after a failed run."
            )

    def show(self, proposal: Any) -> None:
        self.current = proposal
        self.query_one("#proposal-summary", Static).update(summary(proposal))
        current, proposed = self.texts.get(proposal.id, ("", ""))
        left, right = side_by_side(current, proposed)
        self.query_one("#diff-current", Static).update(left)
        self.query_one("#diff-proposed", Static).update(right)
        evidence = self.query_one("#proposal-evidence", DataTable)
        evidence.clear()
        for run_id in proposal.evidence_runs:
            evidence.add_row(run_id, key=run_id)

    @on(DataTable.RowHighlighted, "#proposals-list")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        chosen = next((p for p in self.proposals if p.id == event.row_key.value), None)
        if chosen is not None:
            self.show(chosen)

    @on(DataTable.RowSelected, "#proposal-evidence")
    def _evidence_chosen(self, event: DataTable.RowSelected) -> None:
        from skvm_tui.screens.bench import RunTraceScreen

        try:
            record = self.engine.evidence_record(str(event.row_key.value))
        except SkvmError as exc:
            self.notify(escape(str(exc)), title="Evidence", severity="error")
            return
        self.app.push_screen(RunTraceScreen(self.engine, record))

    def _decide(self, accept: bool) -> None:
        if self.current is None:
            return
        try:
            outcome = self.engine.decide(self.current.id, accept)
        except SkvmError as exc:
            self.notify(escape(str(exc)), title="Proposal", severity="error")
            return
        self.notify(escape(outcome), title=self.current.id)
        self.list_proposals()

    def action_accept(self) -> None:
        self._decide(True)

    def action_reject(self) -> None:
        self._decide(False)

    def action_refresh(self) -> None:
        self.list_proposals()

    def action_back(self) -> None:
        self.app.pop_screen()
