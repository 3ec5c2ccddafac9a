"""How a target acts: the interface every action protocol implements.

A protocol decides what the model is shown (the tools it may call, how to call them, one
worked example), how its turns are decoded (a grammar for in-process models), how a turn's
text becomes actions or a final answer, and how results go back into the conversation.
The agent loop is the same for all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

from skvm_core.agent.tools import ToolOutcome
from skvm_core.llm.types import Decoding, LLMResponse, Message, ToolCall, ToolSchema

ProtocolName = Literal["native", "constrained", "code-act"]
ProtocolChoice = Literal["auto", "native", "constrained", "code-act"]
PROTOCOL_CHOICES: tuple[str, ...] = ("auto", "native", "constrained", "code-act")


@dataclass(frozen=True)
class ExampleAction:
    """One concrete first action taken from the skill or task, shown as a worked example."""

    thought: str
    tool: str  # read_file | list_directory | execute_command
    arguments: dict
    source: str  # where it came from, for the trace ("skill line 12", "task prompt")


@dataclass
class Turn:
    """What one model turn amounts to under a protocol."""

    thought: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    final: str | None = None  # set when the turn ends the run with an answer
    # Why the turn could not be read as an action (prose only, a malformed block, …).
    problem: str | None = None
    # How the turn's text was completed before it could be read (for the trace), if it was.
    repair: str | None = None


class ActionProtocol(ABC):
    name: ProtocolName

    def offered_tools(self, tools: list[ToolSchema]) -> list[ToolSchema]:
        """The tools the model sees (and may call) under this protocol."""
        return tools

    @abstractmethod
    def instructions(self, tools: list[ToolSchema], example: ExampleAction | None) -> str:
        """What the system prompt says about acting, with the worked example."""

    def decoding(
        self, tools: list[ToolSchema], *, grammar_capable: bool, may_finish: bool = True
    ) -> Decoding | None:
        """How turns are decoded; with `may_finish` False the turn must be an action (the
        reply after a reminder that nothing was done yet), where a grammar can hold it."""
        return None

    @abstractmethod
    def interpret(self, response: LLMResponse) -> Turn:
        """The actions (or the final answer) in one response."""

    def assistant_message(self, response: LLMResponse, turn: Turn) -> Message:
        return response.assistant_message()

    def result_messages(self, calls: list[ToolCall], outcomes: list[ToolOutcome]) -> list[Message]:
        return [
            {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": outcome.output}
            for call, outcome in zip(calls, outcomes, strict=True)
        ]

    def no_action_reminder(self) -> str:
        """Said once when the model answers before it has changed anything."""
        return (
            "Nothing in the work folder has been created or changed yet. If the task asks "
            "for a file or a result, make it now through tool calls, then give your final "
            "answer."
        )
