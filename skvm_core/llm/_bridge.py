"""The one place litellm is imported, lazily and configured for offline, quiet use."""

from __future__ import annotations

import os
import threading
from types import ModuleType

_lock = threading.Lock()
_litellm: ModuleType | None = None

# Our in-process providers; their calls are free, so their price is registered as zero.
CUSTOM_PROVIDERS = ("local", "scripted")


def litellm() -> ModuleType:
    """Import litellm once, without network access at import and without stdout noise."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _lock:
        if _litellm is None:
            # litellm fetches a price map over the network at import unless told otherwise.
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            import litellm as module

            module.suppress_debug_info = True  # it prints to stdout, which corrupts a TUI
            module.telemetry = False
            module.drop_params = True
            _register_providers(module)
            _litellm = module
    return _litellm


def _register_providers(module: ModuleType) -> None:
    from skvm_core.llm.providers import LocalProvider, ScriptedProvider

    module.custom_provider_map = [
        {"provider": "local", "custom_handler": LocalProvider()},
        {"provider": "scripted", "custom_handler": ScriptedProvider()},
    ]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()


def preload() -> None:
    """Import and configure litellm now (call it from a worker thread, not a UI loop)."""
    litellm()
