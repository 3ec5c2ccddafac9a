"""`auto`: choose a target's protocol from its profile.

The rule, in order (levels from the target's TCP; an unprofiled primitive counts as L0):

1. code-act, when the target writes code better than it calls tools:
   max(gen.code.shell, gen.code.python) is above max(tool.call.format, tool.exec).
2. code-act, when the model is decoded in-process and tool.exec is below L2: a small model
   that cannot chain commands through tool calls computes in its head and writes guesses;
   acting only through code (held to a grammar) makes every step an execution. Measured on
   the embedded 1.5B: code-act passed where constrained and native tool calls did not
   (docs/protocol-bench).
3. constrained, when the model is decoded in-process (a grammar can hold its output) and
   tool.call.format is below L3.
4. native otherwise: the provider's own tool calling.

A target with no profile at all is treated as all-L0: in-process models get
`code-act`, API models `native`. Scripted models (tests, replays) play turns written for
one protocol, so `auto` gives them `native`; name another protocol to script it.
"""

from __future__ import annotations

from dataclasses import dataclass

from skvm_core.agent.protocols.base import ProtocolName
from skvm_core.llm.models import provider_of

# Providers whose decoding takes a grammar. Scripted models accept one (tests check what
# was sent) but `auto` never picks `constrained` for them: they are not a real target.
GRAMMAR_PROVIDERS = ("local", "scripted")
IN_PROCESS = ("local",)
_RANK = {"L0": 0, "L1": 1, "L2": 2, "L3": 3}


@dataclass(frozen=True)
class ProtocolDecision:
    protocol: ProtocolName
    reason: str
    requested: str = "auto"

    def describe(self) -> str:
        if self.requested == "auto":
            return f"{self.protocol} (auto: {self.reason})"
        return f"{self.protocol} (chosen by the user)"


def grammar_capable(model: str) -> bool:
    """Whether the model's turns can be constrained by a grammar (decoded in-process)."""
    return provider_of(model) in GRAMMAR_PROVIDERS


def choose_protocol(model: str, capabilities: dict[str, str] | None) -> ProtocolDecision:
    if provider_of(model) in ("scripted", "replay"):
        return ProtocolDecision("native", "scripted turns are written as native tool calls")
    levels = capabilities or {}

    def level(primitive: str) -> int:
        return _RANK.get(str(levels.get(primitive, "L0")), 0)

    code = max(level("gen.code.shell"), level("gen.code.python"))
    tools = max(level("tool.call.format"), level("tool.exec"))
    summary = (
        f"code L{code} (shell/python), tool calls L{level('tool.call.format')}, "
        f"tool.exec L{level('tool.exec')}"
    )
    if not capabilities:
        summary = "no profile"
    if code > tools:
        return ProtocolDecision("code-act", f"{summary}: writes code better than it calls tools")
    in_process = provider_of(model) in IN_PROCESS
    if in_process and level("tool.exec") < 2:
        return ProtocolDecision(
            "code-act", f"{summary}: in-process model that cannot chain commands as tool calls"
        )
    if in_process and level("tool.call.format") < 3:
        return ProtocolDecision("constrained", f"{summary}: in-process model, tool calls below L3")
    return ProtocolDecision("native", f"{summary}: provider tool calling")


def resolve_protocol(
    requested: str, model: str, capabilities: dict[str, str] | None
) -> ProtocolDecision:
    if requested == "auto":
        return choose_protocol(model, capabilities)
    return ProtocolDecision(requested, "chosen by the user", requested=requested)  # type: ignore[arg-type]
