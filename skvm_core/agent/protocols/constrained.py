"""`constrained`: decoding held to a grammar built from the tools' JSON schemas.

Every turn is a short free-text thought followed by exactly one call of an offered tool or
of `finish` (which carries the final answer). A prose-only turn or malformed arguments
cannot be generated. The thought is left unconstrained apart from its length: holding a
small model's reasoning to a format costs it accuracy.
"""

from __future__ import annotations

import json
import re

from skvm_core.agent.protocols.base import ActionProtocol, ExampleAction, Turn
from skvm_core.errors import SkvmError
from skvm_core.llm.grammar import Grammar, tool_call_grammar
from skvm_core.llm.grammar_completion import shortest_completion
from skvm_core.llm.types import Decoding, LLMResponse, ToolCall, ToolSchema

FINISH = ToolSchema(
    name="finish",
    description="End the task once it is done and checked, with a short final answer.",
    parameters={
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    },
)
THOUGHT_CHARS = 200
_CALL_HEAD = re.compile(r'<tool_call>\n\{"name": ("(?:[^"\\]|\\.)*"), "arguments": ')


def render_call(tool: str, arguments: dict) -> str:
    """A call laid out exactly as the grammar and the chat template write it."""
    body = json.dumps({"name": tool, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def exact_call(text: str) -> tuple[str, ToolCall] | None:
    """(thought, call) of a reply in the grammar's exact shape, else None."""
    head, tag, rest = text.rpartition("<tool_call>\n")
    if not tag:
        return None
    body = rest.removesuffix("</tool_call>").strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments")
    if not isinstance(arguments, dict):
        return None
    return head.strip(), ToolCall(id="call_0", name=value["name"], arguments=arguments)


class ConstrainedProtocol(ActionProtocol):
    name = "constrained"

    def __init__(self) -> None:
        self._grammar: Grammar | None = None  # the last grammar turns were decoded under

    def offered_tools(self, tools: list[ToolSchema]) -> list[ToolSchema]:
        return [*tools, FINISH]

    def instructions(self, tools: list[ToolSchema], example: ExampleAction | None) -> str:
        text = (
            "Every reply is one short sentence of thought, then exactly one tool call. "
            "Work step by step: each call's result comes back to you before your next reply. "
            "When the task is done and checked, call `finish` with a short answer."
        )
        if example is not None:
            text += (
                "\n\nExample reply (a good first step here):\n"
                f"{example.thought}\n{render_call(example.tool, example.arguments)}"
            )
        return text

    def decoding(
        self, tools: list[ToolSchema], *, grammar_capable: bool, may_finish: bool = True
    ) -> Decoding | None:
        if not grammar_capable:
            raise SkvmError(
                "the constrained protocol needs a model decoded in-process (local/…)",
                hint="use --protocol native or code-act for this model, or auto",
            )
        offered = self.offered_tools(tools) if may_finish else list(tools)
        grammar = tool_call_grammar(
            [tool.openai() for tool in offered], thought_chars=THOUGHT_CHARS
        )
        if may_finish or self._grammar is None:
            self._grammar = grammar
        return Decoding(grammar=grammar.gbnf())

    def interpret(self, response: LLMResponse) -> Turn:
        calls = list(response.tool_calls)
        text = response.raw_text if response.raw_text is not None else response.text
        exact = exact_call(text)
        repair = None
        if exact is None and (closed := self._close_cut_call(response, text)) is not None:
            exact, repair = closed
        if exact is not None:
            # Under the grammar the call is the text after the one `<tool_call>` tag; a
            # lenient parser might take JSON out of the thought instead.
            thought, call = exact
            response = response.model_copy(update={"text": thought})
            calls = [call]
        finish = next((c for c in calls if c.name == FINISH.name), None)
        if finish is not None:
            answer = finish.arguments.get("answer")
            return Turn(
                thought=response.text,
                final=str(answer if answer is not None else ""),
                repair=repair,
            )
        if calls:
            return Turn(thought=response.text, calls=calls, repair=repair)
        # Only when decoding stopped early (the token limit inside a long argument).
        return Turn(
            thought=response.text,
            problem="the reply ended before its tool call was complete",
        )

    def _close_cut_call(
        self, response: LLMResponse, text: str
    ) -> tuple[tuple[str, ToolCall], str] | None:
        """Under the grammar a reply can stop inside its call only when something other
        than the model ended it: the output limit (asked again with more room instead) or
        the repetition guard, which keeps one copy of a looping argument. A call whose tool
        is already named is closed along the grammar's shortest path; an earlier cut is
        left unread (closing it would choose the action for the model)."""
        if self._grammar is None or response.finish_reason == "length":
            return None
        head = _CALL_HEAD.search(text)
        if head is None:
            return None
        suffix = shortest_completion(self._grammar, text)
        if not suffix:
            return None
        exact = exact_call(text + suffix)
        if exact is None:
            return None
        return exact, f"the call was cut by the repetition guard; closed with {suffix!r}"
