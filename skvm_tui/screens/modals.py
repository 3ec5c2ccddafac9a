"""Modal screens: heatmap cell detail, task picker, help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from skvm_core.catalog import load_catalog

if TYPE_CHECKING:
    from skvm_core.profile.tcp import TCP

MODAL_CSS = """
CellDetailScreen, TaskPicker, HelpScreen { align: center middle; }
CellDetailScreen > VerticalScroll, TaskPicker > OptionList, HelpScreen > VerticalScroll {
    width: 90; height: auto; max-height: 80%; border: round $primary; background: $surface; padding: 0 1;
}
"""


def cell_detail_text(primitive_id: str, target: str, tcp: TCP | None, need: str | None) -> Text:
    primitive = load_catalog().get(primitive_id)
    text = Text()
    text.append(f"{primitive_id} on {target}\n", style="bold")
    text.append(f"{primitive.description}\n", style="italic")
    for level in ("L1", "L2", "L3"):
        text.append(f"  {level}: {primitive.level_meaning(level)}\n", style="dim")
    text.append(f"\nThe skill needs: {need or 'nothing'}\n")
    detail = tcp.detail(primitive_id) if tcp else None
    if tcp is None or detail is None:
        text.append("Not profiled for this target.\n", style="yellow")
        return text
    text.append(f"Profiled level: {detail.highest_level} ({tcp.profiled_at})\n", style="bold")
    for result in detail.level_results:
        judged = result.total_count - result.skip_count
        low, high = result.interval()
        style = "green" if result.passed else "red"
        text.append(f"\n{result.level}: {result.pass_count}/{judged} passed", style=style)
        text.append(
            f"  (95% interval {low:.2f}–{high:.2f}{f', {result.skip_count} skipped' if result.skip_count else ''})\n",
            style="dim",
        )
        if result.test_description:
            text.append(f"  {result.test_description}\n", style="dim")
        for failure in result.failure_details[:3]:
            text.append(f"  ✗ {failure[:200]}\n", style="red")
    if detail.calibration_note:
        text.append(f"\n{detail.calibration_note}\n", style="yellow")
    return text


class CellDetailScreen(ModalScreen[None]):
    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="detail.close")]

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="cell-detail"):
            yield Static(self.body)


class TaskPicker(ModalScreen[str | None]):
    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="tasks.cancel")]

    def __init__(self, tasks: list[tuple[str, str]]) -> None:
        super().__init__()
        self.tasks = tasks

    def compose(self) -> ComposeResult:
        yield OptionList(
            *[Option(f"{task_id}  ·  {label}", id=task_id) for task_id, label in self.tasks],
            id="task-list",
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        text = Text("SkVM Workbench — keys\n\n", style="bold")
        for key, description, binding_id in self.rows:
            text.append(f"  {key:<10}", style="bold cyan")
            text.append(f"{description:<36}")
            text.append(f"{binding_id}\n", style="dim")
        text.append(
            "\nctrl+p opens the command palette; every action is there under 'Workbench:'.\n",
            style="dim",
        )
        with VerticalScroll():
            yield Static(text)
