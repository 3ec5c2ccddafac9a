"""Runtime hooks: how the runtime (solidification, monitoring) steers a run.

`before_llm` may answer instead of the model (a solidified template); the others observe.
Hooks are async and optional; a hook that raises is reported in the trace and ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from skvm_core.llm.types import LLMResponse, Message, ToolCall

if TYPE_CHECKING:
    from skvm_core.agent.result import RunResult
    from skvm_core.agent.tools import ToolOutcome


@runtime_checkable
class RuntimeHooks(Protocol):
    async def before_llm(self, step: int, messages: list[Message]) -> LLMResponse | None: ...

    async def after_llm(self, step: int, response: LLMResponse) -> None: ...

    async def after_tool(self, step: int, call: ToolCall, outcome: ToolOutcome) -> None: ...

    async def after_run(self, result: RunResult) -> None: ...


class NoHooks:
    """Base class with every hook a no-op; subclass and override what you need."""

    async def before_llm(self, step: int, messages: list[Message]) -> LLMResponse | None:
        return None

    async def after_llm(self, step: int, response: LLMResponse) -> None:
        return None

    async def after_tool(self, step: int, call: ToolCall, outcome: ToolOutcome) -> None:
        return None

    async def after_run(self, result: RunResult) -> None:
        return None
