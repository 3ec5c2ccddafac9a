"""The one line-diff engine (difflib) behind every diff we show or map: the workbench's
annotated variant view, `skvm diff`, and the source map of a model-written variant."""

from __future__ import annotations

import difflib
from collections.abc import Iterator


def opcodes(source: list[str], variant: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib opcodes between two line lists (no junk heuristics: skills are short)."""
    return difflib.SequenceMatcher(a=source, b=variant, autojunk=False).get_opcodes()


def line_ops(source: str, variant: str) -> Iterator[tuple[int, str]]:
    """(op, line) pairs in reading order: 0 unchanged, -1 removed, 1 added."""
    a, b = source.splitlines(), variant.splitlines()
    for tag, i1, i2, j1, j2 in opcodes(a, b):
        if tag == "equal":
            for line in a[i1:i2]:
                yield 0, line
            continue
        for line in a[i1:i2]:
            yield -1, line
        for line in b[j1:j2]:
            yield 1, line


def unified(
    source: list[str], variant: list[str], source_name: str, variant_name: str
) -> Iterator[str]:
    return difflib.unified_diff(source, variant, source_name, variant_name, lineterm="")
