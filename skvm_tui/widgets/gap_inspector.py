"""Why does this skill fail on this model: the gaps, the lines that cause them, the
compensation the compiler applied, and the steps of the last run that failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

if TYPE_CHECKING:
    from skvm_core.compile import CompileResult


def render_gaps(
    target: str, result: CompileResult | None, failing: list[Any], failed_run: bool = False
) -> Text:
    text = Text()
    if result is None:
        return Text(f"{target}: not compiled yet (no profile, or compile pending)", style="dim")
    lines = result.skill.source.splitlines()
    gaps = sorted(result.gaps, key=lambda g: (-g.severity, g.lines or (0, 0)))
    text.append(f"{target}: {len(gaps)} gaps\n", style="bold")
    entries = result.variant.source_map if result.variant else []
    for gap in gaps:
        style = {"missing": "bold red", "weak": "yellow", "unknown": "dim"}[gap.gap_type]
        text.append(f"\n● {gap.gap_type.upper()} {gap.label}", style=style)
        text.append(f"  (purpose {gap.purpose_id})\n", style="dim")
        if gap.lines:
            for number in range(gap.lines[0], min(gap.lines[1], gap.lines[0] + 3) + 1):
                text.append(f"   {number:4d}│ {lines[number - 1][:100]}\n", style="dim")
        applied = [
            e for e in entries if e.primitive_id == gap.primitive_id and e.source_lines == gap.lines
        ]
        for entry in applied:
            text.append(
                f"   ✚ compensated: {entry.rule}, variant lines {entry.variant_lines[0]}-{entry.variant_lines[1]}\n",
                style="green",
            )
        if not applied and gap.gap_type != "unknown":
            text.append("   (no note: compensated elsewhere in this purpose)\n", style="dim")
    if failing:
        text.append("\nFailing steps of the last run\n", style="bold")
        for event in failing:
            text.append(
                f"  step {event.step} {event.name}: {(event.error or event.output)[:160]}\n",
                style="red",
            )
    if failed_run:
        text.append(
            "\nf: propose a fix for this run's failures (o: the proposals)\n", style="bold yellow"
        )
    return text


class GapInspector(VerticalScroll):
    DEFAULT_CSS = "GapInspector { height: 1fr; }"

    def compose(self):
        yield Static("select a target", id="gaps-body")

    def show(
        self,
        target: str,
        result: CompileResult | None,
        failing: list[Any],
        failed_run: bool = False,
    ) -> None:
        self.query_one("#gaps-body", Static).update(
            render_gaps(target, result, failing, failed_run)
        )
