"""`native`: the provider's own tool calling. API models get litellm `tools`; in-process
models get the tool list rendered by their own chat template, in the format they were
trained on, and their calls are read back from that format."""

from __future__ import annotations

import json

from skvm_core.agent.protocols.base import ActionProtocol, ExampleAction, Turn
from skvm_core.llm.types import LLMResponse, ToolSchema


def describe_example(example: ExampleAction | None) -> str:
    if example is None:
        return ""
    arguments = json.dumps(example.arguments, ensure_ascii=False)
    return (
        f"\n\nFor example, a good first step here: {example.thought} "
        f"Call `{example.tool}` with the arguments {arguments}."
    )


class NativeProtocol(ActionProtocol):
    name = "native"

    def instructions(self, tools: list[ToolSchema], example: ExampleAction | None) -> str:
        return (
            "Act through the tools, one step at a time. When the task is done and checked, "
            "reply with a short final answer and no tool call." + describe_example(example)
        )

    def interpret(self, response: LLMResponse) -> Turn:
        if response.tool_calls:
            return Turn(thought=response.text, calls=list(response.tool_calls))
        return Turn(final=response.text)
