"""What counts as the agent going round in circles: the same action again, a near copy of
it (one more line of error echoed each time), or a reply that only echoes the last output.

A small model under code-act sometimes answers with `Observation (output of your code):`
and the last output inside a code block; run as a command, it fails with an output one line
longer than before, and an exact-repeat guard never fires.
"""

from __future__ import annotations

import difflib
import json

from skvm_core.agent.history import OBSERVATION_PREFIX

NEAR = 0.95  # similarity of two actions' text above which they are one action repeated
# Short actions that differ a little differ in what matters (`f1.txt`, `f2.txt`); only
# long ones (a script, a pasted output) are compared by similarity.
NEAR_MIN_CHARS = 120
COMPARED_CHARS = 2_000  # enough to tell; the ratio is quadratic in the worst case
MIN_ECHO_CHARS = 24  # shorter outputs (`ok`, `3`) are repeated legitimately


def signature(calls) -> str:
    return json.dumps([(c.name, c.arguments) for c in calls], sort_keys=True)


def near_repeat(previous: str, current: str) -> bool:
    if not previous or not current:
        return False
    if previous == current:
        return True
    if min(len(previous), len(current)) < NEAR_MIN_CHARS:
        return False
    a, b = previous[:COMPARED_CHARS], current[:COMPARED_CHARS]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= NEAR and matcher.ratio() >= NEAR


def echoes_output(calls, last_outputs: list[str]) -> bool:
    """Every call's text is the last observation (or its prefix line), not a new action."""
    texts = [" ".join(str(v) for v in c.arguments.values()) for c in calls]
    if not texts:
        return False
    outputs = [o.strip() for o in last_outputs if len(o.strip()) >= MIN_ECHO_CHARS]

    def echo(text: str) -> bool:
        text = text.strip()
        if text.startswith(OBSERVATION_PREFIX) or OBSERVATION_PREFIX in text[:200]:
            return True
        return any(
            len(text) >= MIN_ECHO_CHARS and (text in output or near_repeat(output, text))
            for output in outputs
        )

    return all(echo(t) for t in texts)
