"""The solidification state of the skill on the selected target: every template with its
status and evidence, and the one in use with its parameters and commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

if TYPE_CHECKING:
    from skvm_core.jit import JitState

_STATUS_STYLE = {"promoted": "bold green", "shadow": "cyan", "candidate": "dim", "demoted": "red"}
_ORDER = {"promoted": 0, "shadow": 1, "candidate": 2, "demoted": 3}


def render_jit(target: str, state: JitState | None, solidify: bool) -> Text:
    from skvm_core.jit.harvest import quoted_preview

    mode = "on: runs use promoted templates" if solidify else "off (j turns it on)"
    text = Text(f"{target} · solidification {mode}\n", style="bold")
    if state is None or not state.templates:
        text.append(
            "\nNo templates yet. They come from passing runs of this skill (any target) and "
            "from the scripts the compiler verified; run with solidification on to start.\n",
            style="dim",
        )
        return text
    records = sorted(state.templates.items(), key=lambda kv: _ORDER[kv[1].status])
    for template_id, record in records:
        shadows = [t for t in record.trials if t.mode == "shadow"]
        uses = [t for t in record.trials if t.mode == "promoted"]
        text.append(f"\n● {template_id} ", style="bold")
        text.append(record.status, style=_STATUS_STYLE[record.status])
        text.append(
            f" · from {record.template.source} ({len(record.template.origins)})"
            f" · shadow {sum(t.ok for t in shadows)}/{len(shadows)}"
            f" · used {sum(t.ok for t in uses)}/{len(uses)}\n",
            style="dim",
        )
        if record.note:
            text.append(f"  {record.note}\n", style="dim")
    template_id, best = records[0]
    text.append(f"\nTemplate {template_id}\n", style="bold")
    for param in best.template.params:
        rules = ", ".join(param.locators) or "the model"
        examples = ", ".join(dict.fromkeys(param.examples))
        text.append(f"  {param.name} ({param.kind}) e.g. {examples} · found by {rules}\n")
    examples = {p.name: p.examples[-1] for p in best.template.params if p.examples}
    text.append("\n" + quoted_preview(best.template, examples) + "\n", style="cyan")
    if best.trials:
        text.append("\nLast trials\n", style="bold")
        for trial in best.trials[-5:]:
            verdict = "ok" if trial.ok else f"failed: {trial.reason[:100]}"
            bound = ", ".join(f"{k}={v}" for k, v in trial.bound.items())
            text.append(
                f"  {trial.task_id} · {trial.mode} · {trial.duration_ms:,.0f} ms · {verdict} · {bound}\n",
                style="green" if trial.ok else "red",
            )
    return text


class JitView(VerticalScroll):
    DEFAULT_CSS = "JitView { height: 1fr; }"

    def compose(self):
        yield Static("select a target", id="jit-body")

    def show(self, target: str, state: JitState | None, solidify: bool) -> None:
        self.query_one("#jit-body", Static).update(render_jit(target, state, solidify))
