"""Capability heatmap: 26 primitives × targets, coloured by level from the theme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

from skvm_core.catalog import level_index, load_catalog

if TYPE_CHECKING:
    from skvm_core.profile.tcp import TCP

LEVEL_VARIABLES = {"L0": "error", "L1": "warning", "L2": "accent", "L3": "success"}


class Heatmap(DataTable):
    """Cells show the target's level; ▲ marks a primitive the skill needs above it."""

    DEFAULT_CSS = "Heatmap { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=False, **kwargs)
        self.targets: list[str] = []
        self.primitives = load_catalog().ids()

    def level_colours(self) -> dict[str, str]:
        variables = self.app.theme_variables
        return {level: variables.get(name, "white") for level, name in LEVEL_VARIABLES.items()}

    def fill(
        self, targets: list[str], profiles: dict[str, TCP | None], required: dict[str, str]
    ) -> None:
        self.targets = targets
        colours = self.level_colours()
        self.clear(columns=True)
        # Fixed widths: the layout must not depend on when the table measures its content.
        self.add_column("primitive", key="primitive", width=max(len(p) for p in self.primitives))
        self.add_column("needs", key="needs", width=5)
        for target in targets:
            label = target.split("/")[-1][:22]
            self.add_column(label, key=target, width=max(len(label), 6))
        # Which action protocol each column was measured with: levels differ between them.
        self.add_row(
            Text("measured acting as", style="dim italic"),
            Text(""),
            *[
                Text(profiles[t].protocol if profiles.get(t) else "?", style="italic")
                for t in targets
            ],
            key="__protocol__",
        )
        for primitive in self.primitives:
            need = required.get(primitive)
            cells: list[Text] = [
                Text(primitive),
                Text(need or "·", style="bold" if need else "dim"),
            ]
            for target in targets:
                tcp = profiles.get(target)
                level = tcp.level_of(primitive) if tcp else None
                if level is None:
                    cells.append(Text(" ?  ", style="dim"))
                    continue
                short = need is not None and level_index(need) > level_index(level)
                cells.append(
                    Text(
                        f" {level}{' ▲' if short else '  '}",
                        style=f"bold black on {colours[level]}",
                    )
                )
            self.add_row(*cells, key=primitive)
