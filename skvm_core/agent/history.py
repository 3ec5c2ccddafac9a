"""Keep the conversation inside a token budget without losing the model's own work.

Old tool outputs are cut to a short head with a marker; assistant messages (which carry the
model's code and tool arguments) and the newest tool results are never touched.
"""

from __future__ import annotations

import json

from skvm_core.llm.types import Message

KEEP_RECENT_TOOL_RESULTS = 4
HEAD_CHARS = 300
MARKER = "\n[older output truncated to save context: {removed:,} characters removed]"


def estimate_tokens(message: Message) -> int:
    content = message.get("content") or ""
    size = len(content) if isinstance(content, str) else len(json.dumps(content))
    for call in message.get("tool_calls") or []:
        size += len(json.dumps(call))
    return size // 4 + 4


def fit_history(messages: list[Message], budget: int) -> tuple[list[Message], int]:
    """A copy of `messages` within `budget` tokens where possible; returns (messages, cuts)."""
    total = sum(estimate_tokens(m) for m in messages)
    if total <= budget:
        return messages, 0
    fitted = [dict(m) for m in messages]
    tool_positions = [i for i, m in enumerate(fitted) if m.get("role") == "tool"]
    candidates = (
        tool_positions[:-KEEP_RECENT_TOOL_RESULTS]
        if len(tool_positions) > KEEP_RECENT_TOOL_RESULTS
        else []
    )
    cuts = 0
    # Oldest first, then, if still too large, the recent ones too (never the last one).
    for positions in (candidates, tool_positions[:-1]):
        for index in positions:
            if total <= budget:
                return fitted, cuts
            content = fitted[index].get("content") or ""
            if not isinstance(content, str) or len(content) <= HEAD_CHARS + len(MARKER) + 20:
                continue
            before = estimate_tokens(fitted[index])
            fitted[index]["content"] = content[:HEAD_CHARS] + MARKER.format(
                removed=len(content) - HEAD_CHARS
            )
            total -= before - estimate_tokens(fitted[index])
            cuts += 1
    return fitted, cuts
