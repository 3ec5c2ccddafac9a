"""Detect a generation that has fallen into a loop (the same block over and over).

Small local models often repeat a run of tool calls until the token limit. Every repeat
costs seconds of CPU and, once parsed, would execute the same calls again, so the local
provider stops decoding as soon as the tail repeats and keeps a single copy.
"""

from __future__ import annotations

MIN_BLOCK = 24  # shorter periods are normal text (rules, repeated digits)
REPEATS = 3
MIN_SPAN = 300  # short blocks must repeat over this many characters (identical rows are rare)


def repetition_cut(
    text: str, min_block: int = MIN_BLOCK, repeats: int = REPEATS, min_span: int = MIN_SPAN
) -> int | None:
    """Where to cut `text` if it ends with a block repeated at least `repeats` times in a
    row (and over at least `min_span` characters).

    Returns the length to keep: everything before the periodic tail plus one copy of the
    block (phase-aligned to where the repetition began), or None when the tail is not
    periodic.
    """
    size = len(text)
    for block in range(min_block, size // repeats + 1):
        needed = max(repeats, -(-min_span // block))
        if needed * block > size:
            continue
        tail = text[size - block :]
        if all(text[size - (i + 1) * block : size - i * block] == tail for i in range(1, needed)):
            start = size - needed * block
            while start > 0 and text[start - 1] == text[start - 1 + block]:
                start -= 1
            return start + block
    return None
