"""Requests of the two OpenAI wire APIs turned into our messages and tools, and our
responses turned back into each API's JSON and server-sent events.

Chat Completions is what OpenCode's `@ai-sdk/openai-compatible` speaks; the Responses API
(input items, `function_call` / `function_call_output`, typed stream events) is what Codex
CLI speaks. Only function tools are offered to the model: other tool kinds (hosted web
search, free-form grammars) have no meaning for a model we run.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from skvm_core.errors import SkvmError
from skvm_core.llm.types import LLMResponse, Message, ToolSchema


@dataclass
class ModelRequest:
    messages: list[Message]
    tools: list[ToolSchema] = field(default_factory=list)
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    include_usage: bool = False


def _count(value: Any, name: str) -> int | None:
    """A positive whole number a client sent, or None; anything else is its error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SkvmError(f"{name} must be a positive integer, not {value!r}")
    return value


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SkvmError(f"{name} must be a number, not {value!r}")
    return float(value)


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    raise SkvmError(f"message content of type {type(content).__name__} is not supported")


def _function_tool(spec: dict[str, Any]) -> ToolSchema | None:
    function = spec.get("function", spec) if spec.get("type") == "function" else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        return None
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    return ToolSchema(
        name=function["name"],
        description=str(function.get("description") or ""),
        parameters=parameters,
    )


def _tools(specs: Any) -> list[ToolSchema]:
    return [tool for spec in specs or [] if (tool := _function_tool(spec)) is not None]


def _merge_system(messages: list[Message]) -> list[Message]:
    """All system/developer text in one leading system message: chat templates of small
    models read only the first."""
    system = [m["content"] for m in messages if m["role"] == "system" and m["content"]]
    rest = [m for m in messages if m["role"] != "system"]
    return ([{"role": "system", "content": "\n\n".join(system)}] if system else []) + rest


def chat_request(body: dict[str, Any]) -> ModelRequest:
    if not isinstance(body.get("messages"), list):
        raise SkvmError("a chat completion request needs a `messages` list")
    messages: list[Message] = []
    for raw in body["messages"]:
        role = raw.get("role")
        role = "system" if role == "developer" else role
        message: Message = {"role": role, "content": _text_of(raw.get("content"))}
        if role == "assistant" and raw.get("tool_calls"):
            message["tool_calls"] = raw["tool_calls"]
        if role == "tool":
            message["tool_call_id"] = raw.get("tool_call_id", "")
        messages.append(message)
    options = body.get("stream_options") or {}
    return ModelRequest(
        messages=_merge_system(messages),
        tools=_tools(body.get("tools")),
        stream=bool(body.get("stream")),
        max_tokens=_count(
            body.get("max_completion_tokens") or body.get("max_tokens"), "max_tokens"
        ),
        temperature=_number(body.get("temperature"), "temperature"),
        include_usage=bool(options.get("include_usage")),
    )


def responses_request(body: dict[str, Any]) -> ModelRequest:
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    if not isinstance(items, list):
        raise SkvmError("a responses request needs an `input` list or string")
    messages: list[Message] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role", "user")
            role = "system" if role == "developer" else role
            messages.append({"role": role, "content": _text_of(item.get("content"))})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id") or item.get("id") or "call",
                "type": "function",
                "function": {
                    "name": item.get("name", ""),
                    "arguments": item.get("arguments", "{}"),
                },
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id", ""),
                    "content": output if isinstance(output, str) else _text_of(output),
                }
            )
        # reasoning items and hosted-tool items carry nothing our models can read
    return ModelRequest(
        messages=_merge_system(messages),
        tools=_tools(body.get("tools")),
        stream=bool(body.get("stream")),
        max_tokens=_count(body.get("max_output_tokens"), "max_output_tokens"),
        temperature=_number(body.get("temperature"), "temperature"),
        include_usage=True,
    )


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _chat_calls(response: LLMResponse) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id if call.id.startswith("call") else f"call_{call.id}",
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        for call in response.tool_calls
    ]


def _finish(response: LLMResponse) -> str:
    if response.tool_calls:
        return "tool_calls"
    return "length" if response.finish_reason == "length" else "stop"


def _chat_usage(response: LLMResponse) -> dict[str, int]:
    usage = response.usage
    return {
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
    }


def chat_response(response: LLMResponse, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": response.text or None}
    if response.tool_calls:
        message["tool_calls"] = _chat_calls(response)
    return {
        "id": _new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(response)}],
        "usage": _chat_usage(response),
    }


def chat_stream(response: LLMResponse, model: str, include_usage: bool) -> list[str]:
    """The response as Chat Completions stream chunks (SSE `data:` payloads)."""
    ident, created = _new_id("chatcmpl"), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return json.dumps(body)

    chunks = [chunk({"role": "assistant", "content": ""})]
    if response.text:
        chunks.append(chunk({"content": response.text}))
    for index, call in enumerate(_chat_calls(response)):
        chunks.append(chunk({"tool_calls": [{"index": index, **call}]}))
    chunks.append(chunk({}, _finish(response)))
    if include_usage:
        chunks.append(
            json.dumps(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": _chat_usage(response),
                }
            )
        )
    return chunks + ["[DONE]"]


def _output_items(response: LLMResponse) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if response.text:
        items.append(
            {
                "type": "message",
                "id": _new_id("msg"),
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": response.text, "annotations": []}],
            }
        )
    for call in response.tool_calls:
        items.append(
            {
                "type": "function_call",
                "id": _new_id("fc"),
                "status": "completed",
                "call_id": call.id,
                "name": call.name,
                "arguments": json.dumps(call.arguments),
            }
        )
    return items


def responses_response(response: LLMResponse, model: str, ident: str | None = None) -> dict:
    usage = response.usage
    return {
        "id": ident or _new_id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed" if response.finish_reason != "length" else "incomplete",
        "model": model,
        "output": _output_items(response),
        "usage": {
            "input_tokens": usage.input,
            "input_tokens_details": {"cached_tokens": usage.cache_read},
            "output_tokens": usage.output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.input + usage.output,
        },
    }


def responses_stream(response: LLMResponse, model: str) -> list[tuple[str, str]]:
    """The response as Responses API stream events: (event name, JSON data)."""
    final = responses_response(response, model)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(final["output"]):
        opening = {**item, "status": "in_progress"}
        if item["type"] == "message":
            opening["content"] = []
        else:
            opening["arguments"] = ""
        events.append(
            {"type": "response.output_item.added", "output_index": index, "item": opening}
        )
        if item["type"] == "message":
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": []}
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events.append({"type": "response.content_part.added", **where, "part": part})
            events.append({"type": "response.output_text.delta", **where, "delta": text})
            events.append({"type": "response.output_text.done", **where, "text": text})
            events.append(
                {"type": "response.content_part.done", **where, "part": {**part, "text": text}}
            )
        else:
            where = {"item_id": item["id"], "output_index": index}
            events.append(
                {
                    "type": "response.function_call_arguments.delta",
                    **where,
                    "delta": item["arguments"],
                }
            )
            events.append(
                {
                    "type": "response.function_call_arguments.done",
                    **where,
                    "arguments": item["arguments"],
                }
            )
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": final})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return [(event["type"], json.dumps(event)) for event in events]
