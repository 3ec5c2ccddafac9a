"""A scripted model for tests and reproducible runs.

Turns come from a list, a function of the request, or a JSON file (`scripted/<file.json>`).
A turn can also be a fault (429, 5xx, timeout, a hang, malformed tool-call JSON) so the
retry and error paths are exercised through the same litellm route as real providers.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from skvm_core.errors import ModelError
from skvm_core.llm.types import Message, Usage

Fault = Literal[
    "rate_limit", "server_error", "timeout", "hang", "connection", "malformed_tool_call"
]


class ScriptedCall(BaseModel):
    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)


class ScriptedTurn(BaseModel):
    text: str = ""
    tool_calls: list[ScriptedCall] = Field(default_factory=list)
    # False: the calls are written into the text as <tool_call> JSON, as small models do.
    native: bool = True
    fault: Fault | None = None
    latency_s: float = 0.0
    usage: Usage | None = None
    # Why the turn ended as the provider reports it ("length": cut at the output limit).
    finish_reason: str | None = None


class ScriptFile(BaseModel):
    turns: list[ScriptedTurn]
    latency_s: float = 0.0


TurnSource = list[ScriptedTurn] | Callable[[list[Message], list[dict[str, Any]]], ScriptedTurn]


class ScriptedModel:
    """Hands out turns in order; records every request it saw."""

    def __init__(self, turns: TurnSource, *, latency_s: float = 0.0) -> None:
        self._source = turns
        self._cursor = 0
        self._lock = threading.Lock()
        self.latency_s = latency_s
        self.requests: list[list[Message]] = []
        self.grammars: list[str | None] = []  # the decoding grammar of each request

    def next_turn(self, messages: list[Message], tools: list[dict[str, Any]]) -> ScriptedTurn:
        with self._lock:
            self.requests.append(messages)
            if callable(self._source):
                return self._source(messages, tools)
            if self._cursor >= len(self._source):
                raise ModelError(
                    f"the scripted model has no turn left (it had {len(self._source)})",
                    hint="add turns to the script or lower the step limit",
                )
            turn = self._source[self._cursor]
            self._cursor += 1
            return turn

    @property
    def turns_used(self) -> int:
        return self._cursor

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedModel:
        file = Path(path).expanduser()
        try:
            data = json.loads(file.read_text("utf-8"))
            script = (
                ScriptFile(turns=data)
                if isinstance(data, list)
                else ScriptFile.model_validate(data)
            )
        except FileNotFoundError as exc:
            raise ModelError(f"scripted model file {file} does not exist") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError(f"scripted model file {file} is not valid JSON: {exc}") from exc
        except ValidationError as exc:
            raise ModelError(
                f"scripted model file {file} is malformed: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}",
                hint='write {"turns": [{"text": ..., "tool_calls": [{"name": ..., "arguments": {...}}]}]}',
            ) from exc
        return cls(script.turns, latency_s=script.latency_s)


_registry: dict[str, ScriptedModel] = {}
_counter = itertools.count()


def register_scripted(model: ScriptedModel, name: str | None = None) -> str:
    """Make `model` callable as the returned model id (`scripted/<name>`)."""
    key = name or f"m{next(_counter)}"
    _registry[key] = model
    return f"scripted/{key}"


def unregister_scripted(model_id: str) -> None:
    _registry.pop(model_id.removeprefix("scripted/"), None)


def scripted_model(key: str) -> ScriptedModel:
    """The model behind `scripted/<key>`; a key naming a JSON file is loaded from it."""
    model = _registry.get(key)
    if model is None:
        model = ScriptedModel.from_file(key)
        _registry[key] = model
    return model


def turns_from_trace(path: str | Path) -> list[ScriptedTurn]:
    """The model responses recorded in a trace file, as turns to replay in order.

    Reads the JSONL lines directly (the trace models live in the agent package, which the
    model layer must not import); only `llm_response` events that came from the model count.
    """
    file = Path(path).expanduser()
    try:
        lines = file.read_text("utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read trace {file} to replay: {exc}") from exc
    turns: list[ScriptedTurn] = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line of a killed run
        if event.get("type") != "llm_response" or event.get("source", "model") != "model":
            continue
        calls = [
            ScriptedCall(name=c["name"], arguments=c.get("arguments") or {})
            for c in event.get("tool_calls", [])
        ]
        usage = event.get("usage") or {}
        turns.append(
            ScriptedTurn(
                text=event.get("text", ""),
                tool_calls=calls,
                usage=Usage(**usage) if usage else None,
            )
        )
    if not turns:
        raise ModelError(f"trace {file} holds no model responses to replay")
    return turns


def session_model_id(model: str) -> str:
    """A model id with its own cursor for one run: `scripted/<file.json>` and
    `replay/<trace.jsonl>` restart from their first turn; other ids are returned as is."""
    if model.startswith("replay/"):
        return register_scripted(ScriptedModel(turns_from_trace(model.removeprefix("replay/"))))
    if model.startswith("scripted/"):
        key = model.removeprefix("scripted/")
        if key not in _registry or key.endswith(".json"):
            return register_scripted(ScriptedModel.from_file(key))
    return model
