"""The Anthropic Messages API (`POST /v1/messages`) turned into our messages and tools, and
our responses turned back into its JSON and its typed server-sent events.

This is what Claude Code speaks. A request has a top-level `system` (text or text blocks)
and `messages` whose content is text or blocks: `text`, `tool_use` (the assistant's calls)
and `tool_result` (the user turn that answers them). Blocks a model we run cannot read
(images, documents, thinking) are left out; their place is marked in the text so the model
is not silently shown less than it was sent.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from skvm_core.errors import SkvmError
from skvm_core.llm.types import LLMResponse, Message, ToolSchema
from skvm_core.serve.translate import ModelRequest, _count, _merge_system, _number


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise SkvmError(f"{where}: content must be a string or a list of blocks")
    blocks = []
    for block in content:
        if isinstance(block, str):
            blocks.append({"type": "text", "text": block})
        elif isinstance(block, dict) and isinstance(block.get("type"), str):
            blocks.append(block)
        else:
            raise SkvmError(f"{where}: a content block must be an object with a `type`")
    return blocks


def _plain(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        kind = block["type"]
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind in ("image", "document"):
            parts.append(f"[{kind} not shown]")
        # thinking and redacted_thinking blocks are the model's own, not shown back
    return "".join(parts)


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    text = _plain(_blocks(content, "tool_result")) if content is not None else ""
    return f"error: {text}" if block.get("is_error") and not text.startswith("error") else text


def _system(value: Any) -> str:
    if value is None:
        return ""
    return _plain(_blocks(value, "system"))


def _tool(spec: Any) -> ToolSchema | None:
    # Server tools (web search, code execution) carry a `type` and no schema: not ours to run.
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        return None
    if spec.get("type") not in (None, "custom") or "input_schema" not in spec:
        return None
    return ToolSchema(
        name=spec["name"],
        description=str(spec.get("description") or ""),
        parameters=spec.get("input_schema") or {"type": "object", "properties": {}},
    )


def messages_request(body: dict[str, Any]) -> ModelRequest:
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise SkvmError("a messages request needs a non-empty `messages` list")
    messages: list[Message] = []
    if system := _system(body.get("system")):
        messages.append({"role": "system", "content": system})
    for number, raw in enumerate(raw_messages):
        where = f"messages[{number}]"
        if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
            raise SkvmError(f"{where}: role must be user or assistant")
        blocks = _blocks(raw.get("content", ""), where)
        if raw["role"] == "assistant":
            calls = [
                {
                    "id": str(b.get("id") or _new_id("toolu")),
                    "type": "function",
                    "function": {
                        "name": str(b.get("name", "")),
                        "arguments": json.dumps(b.get("input") or {}),
                    },
                }
                for b in blocks
                if b["type"] == "tool_use"
            ]
            message: Message = {"role": "assistant", "content": _plain(blocks)}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
            continue
        # A user turn answers the previous calls first, then says what it says.
        for block in blocks:
            if block["type"] == "tool_result":
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": str(block.get("tool_use_id", "")),
                        "content": _result_text(block),
                    }
                )
        text = _plain([b for b in blocks if b["type"] != "tool_result"])
        if text or not any(b["type"] == "tool_result" for b in blocks):
            messages.append({"role": "user", "content": text})
    specs = body.get("tools") or []
    if not isinstance(specs, list):
        raise SkvmError("`tools` must be a list")
    return ModelRequest(
        messages=_merge_system(messages),
        tools=[tool for spec in specs if (tool := _tool(spec)) is not None],
        stream=bool(body.get("stream")),
        max_tokens=_count(body.get("max_tokens"), "max_tokens"),
        temperature=_number(body.get("temperature"), "temperature"),
        include_usage=True,
    )


def _content(response: LLMResponse) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if response.text:
        content.append({"type": "text", "text": response.text})
    for call in response.tool_calls:
        # Unique across the conversation: models number their calls per reply (call_0), and
        # Claude Code keys its history by these ids.
        ident = _new_id("toolu")
        content.append(
            {"type": "tool_use", "id": ident, "name": call.name, "input": call.arguments}
        )
    return content


def _stop_reason(response: LLMResponse) -> str:
    if response.tool_calls:
        return "tool_use"
    return "max_tokens" if response.finish_reason == "length" else "end_turn"


def _usage(response: LLMResponse) -> dict[str, int]:
    usage = response.usage
    return {
        "input_tokens": max(0, usage.input - usage.cache_read),
        "cache_read_input_tokens": usage.cache_read,
        "cache_creation_input_tokens": 0,
        "output_tokens": usage.output,
    }


def messages_response(
    response: LLMResponse, model: str, ident: str | None = None
) -> dict[str, Any]:
    return {
        "id": ident or _new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content(response),
        "stop_reason": _stop_reason(response),
        "stop_sequence": None,
        "usage": _usage(response),
    }


def messages_stream(response: LLMResponse, model: str) -> list[tuple[str, str]]:
    """The response as Messages API stream events: (event name, JSON data)."""
    final = messages_response(response, model)
    usage = final["usage"]
    opening = {**final, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 0}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": opening}]
    for index, block in enumerate(final["content"]):
        if block["type"] == "text":
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                }
            )
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return [(event["type"], json.dumps(event)) for event in events]


def count_tokens(body: dict[str, Any]) -> dict[str, int]:
    """`/v1/messages/count_tokens`: an estimate from the request's text (about 4 characters
    a token), enough for a client deciding when to compact its history."""
    parsed = messages_request({**body, "max_tokens": 1})
    characters = sum(len(str(m.get("content") or "")) for m in parsed.messages)
    characters += sum(len(json.dumps(t.parameters)) + len(t.description) for t in parsed.tools)
    return {"input_tokens": max(1, characters // 4)}


def messages_error(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
        503: "overloaded_error",
    }.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}
