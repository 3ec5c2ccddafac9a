"""The model layer: the only package that imports litellm (lazily, on the first call)."""

from skvm_core.llm._bridge import preload
from skvm_core.llm.client import CallOptions, ModelClient, complete
from skvm_core.llm.scripted import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.llm.types import LLMResponse, Message, ToolCall, ToolSchema, Usage

__all__ = [
    "CallOptions",
    "LLMResponse",
    "Message",
    "ModelClient",
    "ScriptedCall",
    "ScriptedModel",
    "ScriptedTurn",
    "ToolCall",
    "ToolSchema",
    "Usage",
    "complete",
    "preload",
    "register_scripted",
]
