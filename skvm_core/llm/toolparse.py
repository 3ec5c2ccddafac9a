"""Recover tool calls that a model wrote as text instead of native `tool_calls`.

Small local models often answer with `<tool_call>{...}</tool_call>`, a fenced ```json
block or a bare JSON object. We accept `{"name", "arguments"}` and `{"function": {...}}`
shapes (arguments may be an object or a JSON string; strings the model forgot to escape are
read leniently) and report which repair was needed so the trace shows it. Objects naming an offered tool count; so does an object of exactly
`{"name", "arguments"}`, so a call to a tool that does not exist gets an answer. Other JSON
in prose is left alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from skvm_core.llm.json_repair import repair_object
from skvm_core.llm.types import FormatRepair, ToolCall

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED = re.compile(
    r"```[ \t]*(?:json|tool_call|tool|javascript|js)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE
)

# How a call object opens; only such objects are worth a lenient reading.
_CALL_START = re.compile(r'\{\s*"(?:name|function|tool|tool_name)"\s*:')


@dataclass
class ParsedText:
    text: str  # the text with recovered calls removed
    calls: list[ToolCall] = field(default_factory=list)
    repairs: list[FormatRepair] = field(default_factory=list)


def parse_tool_calls(text: str, tool_names: Iterable[str], id_prefix: str = "call") -> ParsedText:
    names = set(tool_names)
    if not names or not text:
        return ParsedText(text=text)
    for pattern, repair in ((_TAGGED, "tool_call_tags"), (_FENCED, "fenced_json")):
        found = _from_regions(text, pattern, names)
        if found:
            calls, repairs, spans = found
            remaining = _cut(text, spans)
            return _finish(remaining, calls, [repair, *repairs], id_prefix)
    calls, repairs, spans = _bare_objects(text, names)
    if calls:
        return _finish(_cut(text, spans), calls, ["bare_json", *repairs], id_prefix)
    return ParsedText(text=text)


def _finish(
    text: str,
    calls: list[tuple[str, dict[str, Any], str | None]],
    repairs: list[FormatRepair],
    prefix: str,
) -> ParsedText:
    tool_calls = [
        ToolCall(id=f"{prefix}_{index}", name=name, arguments=args, arguments_error=error)
        for index, (name, args, error) in enumerate(calls)
    ]
    unique: list[FormatRepair] = []
    for repair in repairs:
        if repair not in unique:
            unique.append(repair)
    return ParsedText(text=text.strip(), calls=tool_calls, repairs=unique)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, last = [], 0
    for start, end in sorted(spans):
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _from_regions(text: str, pattern: re.Pattern[str], names: set[str]):
    calls, repairs, spans = [], [], []
    for match in pattern.finditer(text):
        region = match.group(1)
        region_calls, region_repairs, _ = _bare_objects(region, names)
        if region_calls:  # a region without a call to an offered tool stays text
            calls += region_calls
            repairs += region_repairs
            spans.append(match.span())
    return (calls, repairs, spans) if calls else None


def _bare_objects(text: str, names: set[str]):
    """Every top-level JSON value in `text` that reads as a call (objects or lists of them)."""
    decoder = json.JSONDecoder()
    calls: list[tuple[str, dict[str, Any], str | None]] = []
    repairs: list[FormatRepair] = []
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(text):
        start = _next_json_start(text, index)
        if start < 0:
            break
        lenient: list[FormatRepair] = []
        try:
            value, end = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            # Not JSON as written; a call whose strings were not escaped is read leniently.
            repaired = repair_object(text, start) if _CALL_START.match(text, start) else None
            if repaired is None:
                index = start + 1
                continue
            (value, end), lenient = repaired, ["unescaped_json"]
        items = value if isinstance(value, list) else [value]
        recovered = [_as_call(item, names) for item in items]
        if items and all(r is not None for r in recovered):
            for name, args, error, item_repairs in recovered:  # type: ignore[misc]
                calls.append((name, args, error))
                repairs += lenient + item_repairs
            spans.append((start, end))
        elif lenient:  # a lenient reading counts only as a call, never as skipped text
            index = start + 1
            continue
        index = end
    return calls, repairs, spans


def _next_json_start(text: str, index: int) -> int:
    candidates = [p for p in (text.find("{", index), text.find("[", index)) if p >= 0]
    return min(candidates) if candidates else -1


def _as_call(value: Any, names: set[str]):
    if not isinstance(value, dict):
        return None
    repairs: list[FormatRepair] = []
    if isinstance(value.get("function"), dict):
        value = value["function"]
        repairs.append("function_wrapper")
    name = value.get("name") or value.get("tool") or value.get("tool_name")
    if not isinstance(name, str):
        return None
    # A call to a tool we did not offer is still a call when its shape is unmistakable, so
    # the harness can tell the model the tool does not exist instead of ignoring it.
    if name not in names and set(value) != {"name", "arguments"}:
        return None
    args: Any = value.get("arguments", value.get("parameters", value.get("args", {})))
    error = None
    if isinstance(args, str):
        repairs.append("arguments_string")
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            error = f"arguments are not valid JSON: {exc.msg} at position {exc.pos}"
            args = {}
    if not isinstance(args, dict):
        error = error or f"arguments must be a JSON object, got {type(args).__name__}"
        args = {}
    if error:
        repairs.append("invalid_arguments")
    return name, args, error, repairs


def decode_native_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Arguments of a native tool call (a JSON string, sometimes already a dict)."""
    if isinstance(raw, dict):
        return raw, None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, TypeError) as exc:
        return {}, f"arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None
