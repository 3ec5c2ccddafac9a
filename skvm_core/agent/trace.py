"""Typed trace events, streamed to subscribers and appended to a JSONL file per run.

The same events feed the CLI's live view, the workbench's trace pane and the replay
provider, so a stored trace renders exactly like a live one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from skvm_core.errors import SkvmError
from skvm_core.llm.types import ToolCall, Usage

RunStatus = Literal["ok", "timeout", "crashed", "infra-error"]


class _Event(BaseModel):
    run_id: str
    seq: int = 0
    t_ms: float = 0.0  # since the run started
    step: int = 0


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    model: str
    prompt: str
    work_dir: str
    skill: str | None = None
    skill_mode: str | None = None
    sandbox: str = ""
    limits: dict[str, Any] = Field(default_factory=dict)
    # How the target acts in this run, and why (traces from before protocols lack them).
    protocol: str = ""
    protocol_reason: str = ""
    tools: list[str] = Field(default_factory=list)
    tools_reason: str = ""
    example: dict[str, Any] = Field(default_factory=dict)
    # Set on a sub-run of a fan-out (live only): the run it is part of, to show it nested.
    parent_run: str | None = None


class LlmRequest(_Event):
    type: Literal["llm_request"] = "llm_request"
    messages: int
    tokens_estimate: int
    truncated_outputs: int = 0


class LlmResponse(_Event):
    type: Literal["llm_response"] = "llm_response"
    text: str
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: float = 0.0
    format_repairs: list[str] = Field(default_factory=list)
    # The model's own text, kept whenever a call had to be recovered or was rejected.
    raw_text: str | None = None
    retries: int = 0
    finish_reason: str | None = None
    source: Literal["model", "hook"] = "model"

    @classmethod
    def of(cls, run_id: str, response: Any, **overrides: Any) -> LlmResponse:
        """The event for a model layer `LLMResponse` (overrides: latency, source…)."""
        fields = {
            "text": response.text,
            "tool_calls": response.tool_calls,
            "usage": response.usage,
            "cost_usd": response.cost_usd,
            "latency_ms": response.latency_ms,
            "format_repairs": list(response.format_repairs),
            "raw_text": response.raw_text,
            "retries": response.retries,
            "finish_reason": response.finish_reason,
        }
        return cls(run_id=run_id, **{**fields, **overrides})


class ToolCallEvent(_Event):
    type: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolResultEvent(_Event):
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str
    output: str
    ok: bool = True
    exit_code: int | None = None
    duration_ms: float = 0.0
    truncated: bool = False
    error: str | None = None


class HookEvent(_Event):
    type: Literal["hook"] = "hook"
    hook: str
    detail: str = ""


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    kind: str
    message: str


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    status: RunStatus
    detail: str = ""
    final_text: str = ""
    steps: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    wall_ms: float = 0.0
    model_ms: float = 0.0


class FanOutEvent(_Event):
    """The run splits its per-item step into one sub-run per item."""

    type: Literal["fan_out"] = "fan_out"
    step_text: str
    folder: str
    items: list[str]
    limit: int
    merge: str
    reason: str


class SubRunEvent(_Event):
    """One sub-run of a fan-out ended (its own trace is beside the parent's)."""

    type: Literal["sub_run"] = "sub_run"
    item: str
    attempt: int
    status: str
    detail: str = ""
    steps: int = 0
    wall_ms: float = 0.0
    files: list[str] = Field(default_factory=list)
    trace: str = ""


TraceEvent = Annotated[
    RunStarted
    | FanOutEvent
    | SubRunEvent
    | LlmRequest
    | LlmResponse
    | ToolCallEvent
    | ToolResultEvent
    | HookEvent
    | ErrorEvent
    | RunFinished,
    Field(discriminator="type"),
]
_EVENT = TypeAdapter(TraceEvent)
Subscriber = Callable[[Any], None]


class TraceRecorder:
    """Numbers events, appends them to the JSONL file and hands them to subscribers."""

    def __init__(
        self, run_id: str, path: Path | None, subscribers: list[Subscriber] | None = None
    ) -> None:
        self.run_id = run_id
        self.path = path
        self.subscribers = list(subscribers or [])
        self.events: list[Any] = []
        self._handle = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8")

    def emit(self, event: Any) -> None:
        event.seq = len(self.events)
        self.events.append(event)
        if self._handle is not None:
            # One line per event, flushed: a crash loses at most the event being written.
            self._handle.write(event.model_dump_json() + "\n")
            self._handle.flush()
        for subscriber in self.subscribers:
            subscriber(event)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def parse_event(line: str) -> Any:
    return _EVENT.validate_json(line)


def read_trace(path: str | Path) -> list[Any]:
    return list(iter_trace(path))


def iter_trace(path: str | Path) -> Iterator[Any]:
    """Events of a stored trace; a torn last line (the run was killed) is skipped."""
    file = Path(path)
    try:
        lines = file.read_text("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise SkvmError(
            f"{file} is not a trace: not UTF-8 text (byte {exc.start})",
            hint="give the trace.jsonl of a run (runs/<run-id>/trace.jsonl)",
        ) from exc
    except OSError as exc:
        raise SkvmError(f"cannot read trace {file}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse_event(line)
        except (ValidationError, json.JSONDecodeError) as exc:
            if number == len(lines):
                return
            raise SkvmError(
                f"{file}:{number}: not a trace event: {exc.errors()[0]['msg'] if isinstance(exc, ValidationError) else exc}"
            ) from exc


def replay(path: str | Path, subscriber: Subscriber) -> int:
    """Feed a stored trace to `subscriber` as if it were live; returns the event count."""
    count = 0
    for event in iter_trace(path):
        subscriber(event)
        count += 1
    return count
