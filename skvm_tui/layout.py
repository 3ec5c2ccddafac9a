"""The workbench's main view: source and variants on top, heatmap and trace/gaps/JIT below.

Mounted by the app right after its first frame, so the first paint costs no more than a
header, a status line and a footer (the widgets below import the catalog and pydantic
models, which take longer than Textual itself to import)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import TabbedContent, TabPane

from skvm_tui.widgets.gap_inspector import GapInspector
from skvm_tui.widgets.heatmap import Heatmap
from skvm_tui.widgets.jit_view import JitView
from skvm_tui.widgets.source_view import SourceView
from skvm_tui.widgets.trace_pane import TracePane
from skvm_tui.widgets.variant_view import VariantView


class MainView(Vertical):
    DEFAULT_CSS = "MainView { height: 1fr; }"

    def __init__(self, targets: list[str]) -> None:
        super().__init__(id="main")
        self.targets = targets

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield SourceView(id="source")
            with TabbedContent(id="variants"):
                for index, target in enumerate(self.targets):
                    with TabPane(target, id=f"target-{index}"):
                        yield VariantView(id=f"variant-{index}")
        with Horizontal(id="bottom"):
            with Vertical(id="heatmap-box"):
                yield Heatmap(id="heatmap")
            with TabbedContent(id="lower"):
                with TabPane("Trace", id="trace-tab"):
                    yield TracePane(id="trace")
                with TabPane("Gaps", id="gaps-tab"):
                    yield GapInspector(id="gaps")
                with TabPane("JIT", id="jit-tab"):
                    yield JitView(id="jit")

    def on_mount(self) -> None:
        self.query_one("#heatmap-box").border_title = "capabilities (▲ the skill needs more)"
