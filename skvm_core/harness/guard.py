"""The limits our own agent keeps, kept for an external harness too: its CLI may go on
calling the model for as long as the run's time allows (OpenCode's `run` has no step
limit), so the model server watches the turns and says when the run must stop."""

from __future__ import annotations

import json

from skvm_core.agent.result import RunLimits
from skvm_core.llm.types import LLMResponse


class TurnGuard:
    """Counts the model's agent turns (calls that offered tools; a title request is not a
    turn) and identical actions in a row; past the step limit, or at the loop threshold,
    `observe` returns why the run stops, as our agent words it."""

    def __init__(self, limits: RunLimits) -> None:
        self.limits = limits
        self.turns = 0
        self.repeats = 0
        self.last_signature: str | None = None
        self.kind: str | None = None  # "steps" | "loop", once stopped
        self.reason: str | None = None  # why the run stops, once it does

    def observe(self, offered_tools: bool, response: LLMResponse | None) -> str | None:
        """The reason to stop, the first time a limit is reached; None otherwise."""
        if self.reason is None and offered_tools and response is not None:
            self.kind, self.reason = self._check(response)
            return self.reason
        return None

    def _check(self, response: LLMResponse) -> tuple[str | None, str | None]:
        self.turns += 1
        if response.tool_calls:
            signature = json.dumps(
                [(call.name, call.arguments) for call in response.tool_calls], sort_keys=True
            )
            same = signature == self.last_signature
            self.repeats = self.repeats + 1 if same else 1
            self.last_signature = signature
            if self.repeats >= self.limits.loop_threshold:
                return (
                    "loop",
                    f"stopped: the same action was repeated {self.repeats} times in a row",
                )
        if self.turns > self.limits.max_steps:
            return "steps", f"stopped: reached the step limit ({self.limits.max_steps})"
        return None, None
