"""Harness transcripts (the JSON lines a CLI prints about its own run) turned into our trace
events and run steps, line by line as they arrive, so a harness run shows in the
workbench, the bench and the failure evidence like one of our own agent's runs.

Each CLI reports different figures; what it does not report stays unknown (None), never 0.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from skvm_core.agent.result import AgentStep, ToolStep
from skvm_core.agent.trace import ErrorEvent, LlmResponse, ToolCallEvent, ToolResultEvent
from skvm_core.llm.types import ToolCall, Usage

Emit = Callable[[Any], None]
OUTPUT_CAP = 20_000  # per tool result kept in the trace


class Transcript(ABC):
    harness: str

    def __init__(self, run_id: str, emit: Emit | None = None, *, text_events: bool = True) -> None:
        self.run_id = run_id
        self._emit = emit or (lambda event: None)
        # Off when our server saw the model's turns: it emits them, with exact usage and the
        # model's raw text, so the transcript's copy of the text would repeat them.
        self.text_events = text_events
        self.steps: list[AgentStep] = []
        self.final_text = ""
        self.usage: Usage | None = None  # as the harness reported it, if it did
        self.cost_usd: float | None = None
        self.errors: list[str] = []
        self.unreadable = 0  # lines that were not JSON events

    def feed(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            self.unreadable += 1
            return
        if isinstance(event, dict):
            self.handle(event)

    def feed_all(self, lines: list[str]) -> Transcript:
        for line in lines:
            self.feed(line)
        return self

    @abstractmethod
    def handle(self, event: dict[str, Any]) -> None: ...

    # What converters share ------------------------------------------------------------

    def _step(self) -> AgentStep:
        if not self.steps:
            self._new_step()
        return self.steps[-1]

    def _new_step(self) -> AgentStep:
        step = AgentStep(index=len(self.steps) + 1)
        self.steps.append(step)
        return step

    def _text(self, text: str) -> None:
        if not text:
            return
        step = self._step()
        step.text = f"{step.text}\n{text}" if step.text else text
        self.final_text = text
        self._emit(LlmResponse(run_id=self.run_id, step=step.index, text=text, finish_reason=None))

    def _tool(
        self,
        call_id: str,
        name: str,
        arguments: dict[str, Any],
        output: str,
        ok: bool,
        exit_code: int | None = None,
        duration_ms: float = 0.0,
        error: str | None = None,
    ) -> None:
        step = self._step()
        call = ToolCall(id=call_id, name=name, arguments=arguments)
        step.tools.append(
            ToolStep(
                call=call,
                output=output[:OUTPUT_CAP],
                ok=ok,
                exit_code=exit_code,
                duration_ms=duration_ms,
                error=error,
            )
        )
        self._emit(
            ToolCallEvent(
                run_id=self.run_id, step=step.index, call_id=call_id, name=name, arguments=arguments
            )
        )
        self._emit(
            ToolResultEvent(
                run_id=self.run_id,
                step=step.index,
                call_id=call_id,
                name=name,
                output=output[:OUTPUT_CAP],
                ok=ok,
                exit_code=exit_code,
                duration_ms=duration_ms,
                truncated=len(output) > OUTPUT_CAP,
                error=error,
            )
        )

    def _error(self, kind: str, message: str) -> None:
        self.errors.append(message)
        self._emit(ErrorEvent(run_id=self.run_id, step=len(self.steps), kind=kind, message=message))

    def _add_usage(self, usage: Usage, cost: float | None = None) -> None:
        self.usage = usage if self.usage is None else self.usage + usage
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


class OpenCodeTranscript(Transcript):
    """`opencode run --format json`: step_start / text / tool_use / step_finish / error
    events, each with a `part`; a step is one model turn."""

    harness = "opencode"

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        part = event.get("part") if isinstance(event.get("part"), dict) else {}
        if kind == "step_start":
            self._new_step()
        elif kind == "text":
            self._text(str(part.get("text") or ""))
        elif kind == "tool_use":
            state = part.get("state") if isinstance(part.get("state"), dict) else {}
            status = state.get("status")
            metadata = state.get("metadata") if isinstance(state.get("metadata"), dict) else {}
            exit_code = metadata.get("exit") if isinstance(metadata.get("exit"), int) else None
            error = str(state["error"]) if state.get("error") else None
            timing = state.get("time") if isinstance(state.get("time"), dict) else {}
            duration = (
                float(timing["end"] - timing["start"])
                if isinstance(timing.get("end"), int | float)
                and isinstance(timing.get("start"), int | float)
                else 0.0
            )
            inputs = state.get("input") if isinstance(state.get("input"), dict) else {}
            self._tool(
                str(part.get("callID") or part.get("id") or "call"),
                str(part.get("tool") or "?"),
                inputs,
                str(state.get("output") or error or ""),
                ok=status == "completed" and exit_code in (None, 0),
                exit_code=exit_code,
                duration_ms=duration,
                error=error,
            )
        elif kind == "step_finish":
            tokens = part.get("tokens") if isinstance(part.get("tokens"), dict) else None
            if tokens is not None:
                cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
                usage = Usage(
                    input=_int(tokens.get("input")),
                    output=_int(tokens.get("output")) + _int(tokens.get("reasoning")),
                    cache_read=_int(cache.get("read")),
                    cache_write=_int(cache.get("write")),
                )
                cost = part.get("cost")
                self._add_usage(usage, float(cost) if isinstance(cost, int | float) else None)
                self._step().usage = usage
        elif kind == "error":
            error = event.get("error")
            message = (
                error.get("data", {}).get("message") or error.get("name")
                if isinstance(error, dict)
                else error
            )
            self._error("harness", str(message or "the harness reported an error"))


class CodexTranscript(Transcript):
    """`codex exec --json`: thread/turn events and items (agent_message, reasoning,
    command_execution, file_change, mcp_tool_call, web_search, todo_list, error); usage
    per turn in `turn.completed`. Codex reports no cost."""

    harness = "codex"

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "item.completed":
            item = event.get("item") if isinstance(event.get("item"), dict) else {}
            self._item(item)
        elif kind == "turn.completed":
            usage = event.get("usage") if isinstance(event.get("usage"), dict) else None
            if usage is not None:
                self._add_usage(
                    Usage(
                        input=_int(usage.get("input_tokens")),
                        output=_int(usage.get("output_tokens")),
                        cache_read=_int(usage.get("cached_input_tokens")),
                    )
                )
        elif kind == "turn.failed":
            error = event.get("error") if isinstance(event.get("error"), dict) else {}
            self._error("harness", str(error.get("message") or "the turn failed"))
        elif kind == "error":
            self._error("harness", str(event.get("message") or "the harness reported an error"))

    def _item(self, item: dict[str, Any]) -> None:
        kind = item.get("type")
        ident = str(item.get("id") or f"item_{len(self.steps)}")
        if kind == "agent_message":
            self._new_step()
            self._text(str(item.get("text") or ""))
        elif kind == "command_execution":
            self._new_step()
            exit_code = item.get("exit_code") if isinstance(item.get("exit_code"), int) else None
            self._tool(
                ident,
                "shell",
                {"command": item.get("command", "")},
                str(item.get("aggregated_output") or ""),
                ok=item.get("status") == "completed" and exit_code in (None, 0),
                exit_code=exit_code,
            )
        elif kind == "file_change":
            self._new_step()
            changes = item.get("changes") if isinstance(item.get("changes"), list) else []
            listed = ", ".join(
                f"{c.get('kind', '?')} {c.get('path', '?')}" for c in changes if isinstance(c, dict)
            )
            self._tool(
                ident,
                "apply_patch",
                {"changes": changes},
                listed,
                ok=item.get("status") == "completed",
            )
        elif kind == "mcp_tool_call":
            self._new_step()
            self._tool(
                ident,
                f"{item.get('server', 'mcp')}.{item.get('tool', '?')}",
                item.get("arguments") if isinstance(item.get("arguments"), dict) else {},
                json.dumps(item.get("result") or item.get("error") or ""),
                ok=item.get("status") == "completed",
            )
        elif kind == "web_search":
            self._new_step()
            self._tool(ident, "web_search", {"query": item.get("query", "")}, "", ok=True)
        elif kind == "error":
            message = str(item.get("message") or "")
            # Codex warns that our model has no metadata in its catalog; not a failure.
            if "metadata" not in message.lower():
                self._error("harness", message)


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(b.get("text") or "")
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


class ClaudeCodeTranscript(Transcript):
    """`claude -p --output-format stream-json --verbose`: `assistant` messages (text and
    tool_use blocks), `user` messages (tool_result blocks, and the text Claude Code adds
    itself, such as a loaded skill's body after its Skill call), and one `result` at the
    end. Its cost is priced as if the model were Claude's, so it is never taken as ours."""

    harness = "claude-code"
    SKILL_BODY = "Base directory for this skill:"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self.held: tuple[str, str, dict[str, Any], str, bool] | None = None

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        content = message.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        if kind == "user" and self.held and isinstance(content, list):
            text = _block_text(content)
            if text.startswith(self.SKILL_BODY):  # the skill's body, delivered after the call
                call_id, name, arguments, output, ok = self.held
                self.held = (call_id, name, arguments, f"{output}\n{text}", ok)
                self._release()
                return
        self._release()
        if event.get("parent_tool_use_id"):
            return  # a sub-agent's own turns; its result comes back as the Task tool's
        if kind == "assistant":
            self._new_step()
            for block in blocks:
                if block.get("type") == "text":
                    self._text(str(block.get("text") or ""))
                elif block.get("type") == "tool_use":
                    arguments = block.get("input") if isinstance(block.get("input"), dict) else {}
                    self.pending[str(block.get("id"))] = (str(block.get("name") or "?"), arguments)
        elif kind == "user":
            for block in blocks:
                if block.get("type") != "tool_result":
                    continue
                call_id = str(block.get("tool_use_id") or "")
                name, arguments = self.pending.pop(call_id, ("?", {}))
                output = _block_text(block.get("content"))
                ok = not block.get("is_error")
                if name == "Skill":  # its body may follow in the next user message
                    self.held = (call_id, name, arguments, output, ok)
                else:
                    self._tool(
                        call_id, name, arguments, output, ok=ok, error=None if ok else output[:300]
                    )
        elif kind == "result":
            if isinstance(event.get("result"), str) and event["result"]:
                self.final_text = event["result"]
            usage = event.get("usage") if isinstance(event.get("usage"), dict) else None
            if usage is not None:
                cached = _int(usage.get("cache_read_input_tokens"))
                self._add_usage(
                    Usage(
                        input=_int(usage.get("input_tokens")) + cached,
                        output=_int(usage.get("output_tokens")),
                        cache_read=cached,
                        cache_write=_int(usage.get("cache_creation_input_tokens")),
                    )
                )
            if event.get("is_error") or str(event.get("subtype", "")).startswith("error"):
                self._error(
                    "harness", str(event.get("result") or event.get("subtype") or "the run failed")
                )

    def _release(self) -> None:
        if self.held is None:
            return
        call_id, name, arguments, output, ok = self.held
        self.held = None
        self._tool(call_id, name, arguments, output, ok=ok)


class PiTranscript(Transcript):
    """`pi -p --mode json`: session events; a finished assistant message (`message_end`)
    holds its text and `toolCall` blocks with usage, and `tool_execution_end` the call's
    result. pi prices a custom provider at the costs it was configured with (ours: none), so
    its cost is not taken as ours."""

    harness = "pi"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_end":
            message = event.get("message") if isinstance(event.get("message"), dict) else {}
            if message.get("role") != "assistant":
                return
            self._new_step()
            for block in message.get("content") or []:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text":
                    self._text(str(block.get("text") or ""))
                elif block.get("type") == "toolCall":
                    arguments = (
                        block.get("arguments") if isinstance(block.get("arguments"), dict) else {}
                    )
                    self.pending[str(block.get("id"))] = (str(block.get("name") or "?"), arguments)
            usage = message.get("usage") if isinstance(message.get("usage"), dict) else None
            if usage is not None:
                cached = _int(usage.get("cacheRead"))
                step_usage = Usage(
                    input=_int(usage.get("input")) + cached,
                    output=_int(usage.get("output")),
                    cache_read=cached,
                    cache_write=_int(usage.get("cacheWrite")),
                )
                self._add_usage(step_usage)
                self._step().usage = step_usage
            if message.get("stopReason") in ("error", "aborted"):
                self._error("harness", str(message.get("errorMessage") or message["stopReason"]))
        elif kind == "tool_execution_end":
            call_id = str(event.get("toolCallId") or "")
            name, arguments = self.pending.pop(call_id, (str(event.get("toolName") or "?"), {}))
            result = event.get("result") if isinstance(event.get("result"), dict) else {}
            output = _block_text(result.get("content"))
            ok = not event.get("isError")
            self._tool(call_id, name, arguments, output, ok=ok, error=None if ok else output[:300])


TRANSCRIPTS: dict[str, type[Transcript]] = {
    "opencode": OpenCodeTranscript,
    "codex": CodexTranscript,
    "claude-code": ClaudeCodeTranscript,
    "pi": PiTranscript,
}
