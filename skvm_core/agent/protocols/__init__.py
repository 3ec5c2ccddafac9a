"""Action protocols: how a target acts (native tool calls, grammar-constrained calls,
code-act), one module each behind `ActionProtocol`, and the `auto` rule that picks one."""

from skvm_core.agent.protocols.auto import (
    ProtocolDecision,
    choose_protocol,
    grammar_capable,
    resolve_protocol,
)
from skvm_core.agent.protocols.base import (
    PROTOCOL_CHOICES,
    ActionProtocol,
    ExampleAction,
    ProtocolChoice,
    ProtocolName,
    Turn,
)
from skvm_core.agent.protocols.code_act import CodeActProtocol
from skvm_core.agent.protocols.constrained import ConstrainedProtocol
from skvm_core.agent.protocols.example import first_action
from skvm_core.agent.protocols.native import NativeProtocol

_PROTOCOLS: dict[str, type[ActionProtocol]] = {
    "native": NativeProtocol,
    "constrained": ConstrainedProtocol,
    "code-act": CodeActProtocol,
}


def protocol_named(name: str) -> ActionProtocol:
    from skvm_core.errors import SkvmError

    try:
        return _PROTOCOLS[name]()
    except KeyError:
        raise SkvmError(
            f"unknown protocol {name!r}", hint=f"choose one of: {', '.join(PROTOCOL_CHOICES)}"
        ) from None


__all__ = [
    "PROTOCOL_CHOICES",
    "ActionProtocol",
    "CodeActProtocol",
    "ConstrainedProtocol",
    "ExampleAction",
    "NativeProtocol",
    "ProtocolChoice",
    "ProtocolDecision",
    "ProtocolName",
    "Turn",
    "choose_protocol",
    "first_action",
    "grammar_capable",
    "protocol_named",
    "resolve_protocol",
]
