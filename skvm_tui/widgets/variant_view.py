"""A target's compiled variant, as a diff against the source or plain, annotated with
the source-map reason of every changed region."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from skvm_core.textdiff import line_ops

if TYPE_CHECKING:
    from skvm_core.compile import CompileResult
    from skvm_core.compile.model import SourceMapEntry


def line_diff(source: str, variant: str) -> list[tuple[int, str]]:
    """(op, line) pairs: op is 0 equal, 1 inserted, -1 deleted."""
    return list(line_ops(source, variant))


def reason_for(line: int, entries: list[SourceMapEntry]) -> SourceMapEntry | None:
    return next((e for e in entries if e.variant_lines[0] <= line <= e.variant_lines[1]), None)


def render_diff(result: CompileResult) -> Text:
    variant = result.variant
    text = Text()
    if variant is None:
        return Text("no variant: the emit pass did not run", style="red")
    variant_line = 0
    last_reason: SourceMapEntry | None = None
    for op, line in line_diff(result.skill.source, variant.text):
        if op >= 0:
            variant_line += 1
        if op == 1:
            entry = reason_for(variant_line, variant.source_map)
            if entry is not None and entry is not last_reason:
                where = (
                    f"source L{entry.source_lines[0]}-{entry.source_lines[1]}"
                    if entry.source_lines
                    else "whole skill"
                )
                text.append(
                    f"   ⟵ {entry.gap or entry.rule} · {entry.rule} · {where}\n", style="italic dim"
                )
                last_reason = entry
            text.append(f"{variant_line:4d} + {line}\n", style="green")
        elif op == -1:
            text.append(f"     - {line}\n", style="red")
        else:
            last_reason = None
            text.append(f"{variant_line:4d}   {line}\n", style="dim")
    return text


class VariantView(VerticalScroll):
    DEFAULT_CSS = "VariantView { height: 1fr; }"

    def compose(self):
        yield Static("compiling…", id="variant-body")

    def show(self, result: CompileResult, diff: bool, dark: bool = True) -> None:
        body = self.query_one("#variant-body", Static)
        variant = result.variant
        if diff or variant is None:
            body.update(render_diff(result))
        else:
            changed = {
                n
                for e in variant.source_map
                for n in range(e.variant_lines[0], e.variant_lines[1] + 1)
            }
            body.update(
                Syntax(
                    variant.text,
                    "markdown",
                    line_numbers=True,
                    word_wrap=True,
                    theme="monokai" if dark else "default",
                    highlight_lines=changed,
                )
            )
        guard = (
            "guard ✓"
            if variant and not variant.guard_violations
            else f"guard ✗ {len(variant.guard_violations) if variant else ''}"
        )
        original, compiled = result.prompt_tokens
        self.border_subtitle = f"{len(result.gaps)} gaps · {len(variant.source_map) if variant else 0} changes · {guard} · {original:,}→{compiled:,} tok · acts {result.protocol.protocol}"
        self.tooltip = (
            f"protocol {result.protocol.describe()}; tools {', '.join(result.tools.names)}"
        )
