"""Markdown IR of a SKILL.md body: sections, code blocks and lists with line spans."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from skvm_core.skill.model import CodeBlock, ListItem, MarkdownIR, MarkdownList, Section, Span

_PARSER = MarkdownIt("commonmark")


def build_ir(body: str, body_start_line: int) -> MarkdownIR:
    """Parse `body`; spans are made relative to SKILL.md via `body_start_line` (1-based)."""
    tokens = _PARSER.parse(body)
    offset = body_start_line  # token.map is 0-based into the body
    last_line = body_start_line + max(len(body.splitlines()), 1) - 1

    headings: list[tuple[int, str, int]] = []  # (level, title, line)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            title = tokens[index + 1].content.strip()
            headings.append((int(token.tag[1:]), title, token.map[0] + offset))

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    for position, (level, title, line) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = last_line
        for later_level, _title, later_line in headings[position + 1 :]:
            if later_level <= level:
                end = later_line - 1
                break
        sections.append(
            Section(
                title=title,
                level=level,
                path=tuple(t for _, t in stack),
                span=Span(start=line, end=end),
            )
        )

    def section_path_at(line: int) -> tuple[str, ...]:
        best: tuple[str, ...] = ()
        for section in sections:
            if section.span.start <= line <= section.span.end:
                best = section.path  # later sections are deeper or later: keep the last match
        return best

    code_blocks: list[CodeBlock] = []
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map:
            start, end = token.map[0] + offset, token.map[1] + offset - 1
            language = token.info.strip().split()[0].lower() if token.info.strip() else ""
            code_blocks.append(
                CodeBlock(
                    language=language,
                    code=token.content,
                    span=Span(start=start, end=end),
                    section_path=section_path_at(start),
                )
            )

    lists = _collect_lists(tokens, offset, section_path_at)
    return MarkdownIR(sections=tuple(sections), code_blocks=tuple(code_blocks), lists=tuple(lists))


def _collect_lists(tokens: list[Token], offset: int, section_path_at) -> list[MarkdownList]:
    lists: list[MarkdownList] = []
    # Each open list: (ordered, start span line, depth, items, next number)
    open_lists: list[dict] = []
    for index, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            start_number = (
                int(token.attrGet("start") or 1) if token.type == "ordered_list_open" else None
            )
            open_lists.append(
                {
                    "ordered": token.type == "ordered_list_open",
                    "map": token.map,
                    "depth": len(open_lists),
                    "items": [],
                    "number": start_number,
                }
            )
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            current = open_lists.pop()
            if current["map"] and current["items"]:
                start = current["map"][0] + offset
                lists.append(
                    MarkdownList(
                        ordered=current["ordered"],
                        items=tuple(current["items"]),
                        span=Span(start=start, end=current["map"][1] + offset - 1),
                        section_path=section_path_at(start),
                        depth=current["depth"],
                    )
                )
        elif token.type == "list_item_open" and token.map and open_lists:
            current = open_lists[-1]
            number = current["number"]
            if number is not None:
                current["number"] = number + 1
            current["items"].append(
                ListItem(
                    text=_first_inline(tokens, index),
                    span=Span(
                        start=token.map[0] + offset,
                        end=max(token.map[1] + offset - 1, token.map[0] + offset),
                    ),
                    number=number,
                )
            )
    lists.sort(key=lambda lst: lst.span.start)
    return lists


def _first_inline(tokens: list[Token], start: int) -> str:
    for token in tokens[start + 1 :]:
        if token.type == "inline":
            return token.content.strip()
        if token.type == "list_item_close":
            break
    return ""
