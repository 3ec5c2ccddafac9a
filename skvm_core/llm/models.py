"""Model ids: which provider serves them and whether they can be called right now.

Checks here run before litellm is involved, so a missing key or an unknown id fails in
milliseconds with a message that says what to set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from skvm_core.errors import ModelError
from skvm_core.llm.weights import EMBEDDED_MODELS

# Environment variables litellm reads for the common providers.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "fireworks_ai": ("FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY"),
    "xai": ("XAI_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
}
KEYLESS_PROVIDERS = {
    "local",
    "scripted",
    "replay",
    "ollama",
    "ollama_chat",
    "hosted_vllm",
    "lm_studio",
    "llamafile",
}


@dataclass(frozen=True)
class TargetInfo:
    model_id: str
    provider: str
    description: str


def provider_of(model: str) -> str:
    if "/" not in model:
        # Bare ids such as "gpt-4o" or "claude-…": litellm infers the provider.
        if model.startswith(("gpt-", "o1", "o3", "o4")):
            return "openai"
        if model.startswith("claude"):
            return "anthropic"
        return "unknown"
    return model.split("/", 1)[0]


def check_model_ready(model: str, *, api_base: str | None = None) -> None:
    """Raise ModelError when `model` cannot possibly be called (unknown, key missing)."""
    if not model or not model.strip():
        raise ModelError(
            "no model id given", hint="pass a litellm model id such as local/qwen2.5-coder-0.5b"
        )
    provider = provider_of(model)
    if provider == "unknown":
        raise ModelError(
            f"cannot tell which provider serves {model!r}",
            hint="prefix the id with its provider, e.g. openai/gpt-4o, anthropic/claude-…, openrouter/…, local/…",
        )
    if provider == "local":
        name = model.split("/", 1)[1]
        if name not in EMBEDDED_MODELS and not name.lower().endswith(".gguf"):
            known = ", ".join(f"local/{n}" for n in sorted(EMBEDDED_MODELS))
            raise ModelError(
                f"{model}: no embedded model is called {name!r}",
                hint=f"use {known}, or local/<path to a .gguf file>",
            )
    if provider in KEYLESS_PROVIDERS or api_base:
        return
    if provider not in PROVIDER_KEYS and provider not in _litellm_providers():
        raise ModelError(
            f"{model}: {provider!r} is not a provider litellm knows",
            hint="prefix the id with a litellm provider, e.g. openai/…, anthropic/…, openrouter/…, local/…",
        )
    keys = PROVIDER_KEYS.get(provider)
    if keys and not any(os.environ.get(key) for key in keys):
        raise ModelError(
            f"{model}: no API key for {provider}",
            hint=f"set {' or '.join(keys)} in your environment",
        )


def _litellm_providers() -> set[str]:
    from skvm_core.llm._bridge import litellm

    return {str(getattr(p, "value", p)) for p in litellm().provider_list}


def present_keys() -> dict[str, bool]:
    """Which provider keys are set (never their values)."""
    return {key: bool(os.environ.get(key)) for keys in PROVIDER_KEYS.values() for key in keys}


def embedded_targets() -> list[TargetInfo]:
    return [TargetInfo(m.model_id, "local", m.description) for m in EMBEDDED_MODELS.values()]
