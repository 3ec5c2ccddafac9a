"""Model-layer data: tool schemas, tool calls, usage, responses, stream chunks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Chat messages stay in the OpenAI dict shape that litellm speaks:
# {"role": "system"|"user"|"assistant"|"tool", "content": str, "tool_calls"?: [...], "tool_call_id"?: str}
Message = dict[str, Any]


class ToolSchema(BaseModel):
    """A function tool offered to the model (JSON Schema parameters)."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class Decoding(BaseModel):
    """How an in-process (llama.cpp) model decodes a turn; other providers ignore it."""

    model_config = ConfigDict(frozen=True)

    # GBNF grammar every generated token must stay inside (constrained protocols).
    grammar: str | None = None


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    # Set when the arguments could not be read as a JSON object: the harness reports it
    # to the model as a tool error instead of running the tool.
    arguments_error: str | None = None

    def openai(self) -> dict[str, Any]:
        import json

        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }


class Usage(BaseModel):
    """Token counts; additive."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input=self.input + other.input,
            output=self.output + other.output,
            cache_read=self.cache_read + other.cache_read,
            cache_write=self.cache_write + other.cache_write,
        )

    @property
    def total(self) -> int:
        return self.input + self.output


FormatRepair = Literal[
    "native",  # not a repair: the provider returned structured tool calls
    "tool_call_tags",
    "fenced_json",
    "bare_json",
    "unescaped_json",  # quotes, newlines or backslashes in strings the model did not escape
    "function_wrapper",
    "arguments_string",
    "invalid_arguments",
]


class LLMResponse(BaseModel):
    model: str
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    # USD; None when the price of this model is not known (never a made-up 0).
    cost_usd: float | None = None
    latency_ms: float = 0.0
    finish_reason: str | None = None
    # How tool calls were recovered from text, when the model did not use native calls.
    format_repairs: list[FormatRepair] = Field(default_factory=list)
    retries: int = 0
    # The model's text before tool calls were taken out of it; kept whenever the parser
    # had to recover, repair or reject a call, so a trace shows what the model wrote.
    raw_text: str | None = None

    def assistant_message(self) -> Message:
        """The message to append to the history for this turn."""
        message: Message = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [call.openai() for call in self.tool_calls]
        return message
