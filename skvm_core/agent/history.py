"""Keep the conversation inside a token budget without losing the model's own work.

Old tool outputs are cut to a short head with a marker; assistant messages (which carry the
model's code and tool arguments) are never touched, and the newest tool result only when
nothing else is left to cut.
"""

from __future__ import annotations

import json
import re
import string
from functools import lru_cache

from skvm_core.llm.types import Message

# Digits and punctuation cost about a token each (Qwen tokenizers split numbers into single
# digits), so logs, CSV and JSON run at 1-2 characters per token, not the 4 of prose.
_SPARSE = str.maketrans("", "", string.ascii_letters + " ")  # a newline is a token too
_MARGIN = 1.05

# Roughly how a BPE tokenizer pre-splits text: a word with its leading space, a digit, a run
# of punctuation. One piece is about one token (long words two); within ~10% of Qwen's
# tokenizer on skill text, where `text_tokens` (cautious, for context budgets) runs ~45% high.
_PIECE = re.compile(r"'(?:s|t|re|ve|m|ll|d)| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+")

KEEP_RECENT_TOOL_RESULTS = 4
HEAD_CHARS = 300
# Code-act results go back as user turns that start with this line; they are tool output
# all the same, and cut like it.
OBSERVATION_PREFIX = "Observation (output of your code):"
MARKER = "\n[older output truncated to save context: {removed:,} characters removed]"


# Every step re-estimates the whole history (and the trace sums it again); messages do not
# change once sent, so each text is counted once.
@lru_cache(maxsize=4096)
def text_tokens(text: str) -> int:
    """A cautious token estimate: words at 4 characters a token, other characters at 1,
    plus a margin (checked against the real tokenizer on logs, CSV, JSON and prose)."""
    dense = len(text.translate(_SPARSE))
    return int(((len(text) - dense) / 4 + dense) * _MARGIN) + 1


def reading_tokens(text: str) -> int:
    """Tokens a model reads for `text`, estimated closely (for comparing two texts)."""
    return sum(1 + len(piece) // 9 for piece in _PIECE.findall(text))


def estimate_tokens(message: Message) -> int:
    content = message.get("content") or ""
    tokens = text_tokens(content if isinstance(content, str) else json.dumps(content))
    for call in message.get("tool_calls") or []:
        tokens += text_tokens(json.dumps(call))
    return tokens + 4


def fit_history(messages: list[Message], budget: int) -> tuple[list[Message], int]:
    """A copy of `messages` within `budget` tokens where possible; returns (messages, cuts)."""
    total = sum(estimate_tokens(m) for m in messages)
    if total <= budget:
        return messages, 0
    fitted = [dict(m) for m in messages]
    tool_positions = [i for i, m in enumerate(fitted) if _is_tool_output(m)]
    candidates = (
        tool_positions[:-KEEP_RECENT_TOOL_RESULTS]
        if len(tool_positions) > KEEP_RECENT_TOOL_RESULTS
        else []
    )
    cuts = 0
    # Oldest first, then the recent ones, and the newest last: a prompt over the model's
    # context fails the whole run, a cut output only costs the model a re-read.
    for positions in (candidates, tool_positions[:-1], tool_positions[-1:]):
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


def _is_tool_output(message: Message) -> bool:
    if message.get("role") == "tool":
        return True
    content = message.get("content")
    return (
        message.get("role") == "user"
        and isinstance(content, str)
        and content.startswith(OBSERVATION_PREFIX)
    )
