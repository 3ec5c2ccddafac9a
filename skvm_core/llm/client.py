"""One async call to any model: messages and tools in; text, tool calls, usage, cost out.

Retries 429, 5xx, connection faults and timeouts with exponential backoff and jitter; when
they run out the failure is an `InfraError` (not the model's fault). Everything the user
can fix (unknown model, missing key, bad request) is a `ModelError`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from skvm_core.errors import InfraError, ModelError, SkvmError
from skvm_core.llm._bridge import litellm
from skvm_core.llm.models import KEYLESS_PROVIDERS, check_model_ready, provider_of
from skvm_core.llm.toolparse import decode_native_arguments, parse_tool_calls
from skvm_core.llm.types import (
    Decoding,
    FormatRepair,
    LLMResponse,
    Message,
    ToolCall,
    ToolSchema,
    Usage,
)

RetryObserver = Callable[[int, BaseException, float], None]


@dataclass(frozen=True)
class CallOptions:
    timeout_s: float = 180.0
    max_retries: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    temperature: float | None = 0.0
    max_tokens: int | None = 1024
    seed: int | None = None
    api_base: str | None = None
    decoding: Decoding | None = None
    stop: tuple[str, ...] = ()  # generation ends at the first of these (not included)


class ModelClient:
    def __init__(self, model: str, options: CallOptions | None = None) -> None:
        self.model = model
        self.options = options or CallOptions()

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        on_text: Callable[[str], None] | None = None,
        on_retry: RetryObserver | None = None,
    ) -> LLMResponse:
        return await complete(
            self.model, messages, tools, options=self.options, on_text=on_text, on_retry=on_retry
        )


async def complete(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolSchema] = (),
    *,
    options: CallOptions | None = None,
    on_text: Callable[[str], None] | None = None,
    on_retry: RetryObserver | None = None,
) -> LLMResponse:
    options = options or CallOptions()
    check_model_ready(model)
    lib = litellm()
    retryable = _retryable_errors(lib)
    attempt = 0
    while True:
        started = time.perf_counter()
        try:
            raw, streamed_text = await asyncio.wait_for(
                _call(lib, model, list(messages), tools, options, on_text),
                timeout=options.timeout_s,
            )
        except (TimeoutError, *retryable) as exc:
            if (own := _own_error(exc)) is not None:
                raise own from None
            if attempt >= options.max_retries:
                raise _infra_error(model, exc, attempt) from exc
            delay = _backoff(attempt, options, exc)
            if on_retry:
                on_retry(attempt + 1, exc, delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue
        except SkvmError:
            raise
        except Exception as exc:
            if (own := _own_error(exc)) is not None:
                raise own from None
            raise _user_error(lib, model, exc) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        response = _to_response(lib, model, raw, tools, latency_ms, streamed_text)
        response.retries = attempt
        return response


async def _call(lib, model: str, messages: list[Message], tools, options: CallOptions, on_text):
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "num_retries": 0,
        "timeout": options.timeout_s,
    }
    if tools:
        kwargs["tools"] = [tool.openai() for tool in tools]
    if options.temperature is not None:
        kwargs["temperature"] = options.temperature
    if options.max_tokens is not None:
        kwargs["max_tokens"] = options.max_tokens
    if options.seed is not None:
        kwargs["seed"] = options.seed
    if options.stop:
        kwargs["stop"] = list(options.stop)
    if options.api_base:
        kwargs["api_base"] = options.api_base
    if options.decoding is not None and options.decoding.grammar:
        kwargs["grammar"] = options.decoding.grammar  # our in-process providers read it
    if on_text is None:
        return await lib.acompletion(**kwargs), None
    kwargs["stream"] = True
    kwargs["stream_options"] = {"include_usage": True}
    chunks = []
    stream = await lib.acompletion(**kwargs)
    async for chunk in stream:
        chunks.append(chunk)
        delta = chunk.choices[0].delta.content if chunk.choices else None
        if delta:
            on_text(delta)
    built = lib.stream_chunk_builder(chunks, messages=messages)
    return built, None


def _to_response(
    lib, model: str, raw, tools: Sequence[ToolSchema], latency_ms: float, _streamed
) -> LLMResponse:
    choice = raw.choices[0]
    message = choice.message
    text = message.content or ""
    calls: list[ToolCall] = []
    repairs: list[FormatRepair] = []
    for index, native in enumerate(message.tool_calls or []):
        arguments, error = decode_native_arguments(native.function.arguments)
        calls.append(
            ToolCall(
                id=native.id or f"call_{index}",
                name=native.function.name or "",
                arguments=arguments,
                arguments_error=error,
            )
        )
        if error and "invalid_arguments" not in repairs:
            repairs.append("invalid_arguments")
    raw_text = None
    if not calls and tools:
        parsed = parse_tool_calls(text, [tool.name for tool in tools])
        if parsed.calls:
            raw_text = text
            text, calls, repairs = parsed.text, parsed.calls, parsed.repairs
    return LLMResponse(
        model=model,
        text=text,
        tool_calls=calls,
        usage=_usage(raw),
        cost_usd=price_of(model, _usage(raw)),
        latency_ms=latency_ms,
        finish_reason=choice.finish_reason,
        format_repairs=repairs,
        raw_text=raw_text if raw_text is not None else (text if repairs else None),
    )


def _usage(raw) -> Usage:
    usage = getattr(raw, "usage", None)
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cache_read = (
        getattr(details, "cached_tokens", None)
        or getattr(usage, "cache_read_input_tokens", None)
        or 0
    )
    cache_write = getattr(usage, "cache_creation_input_tokens", None) or 0
    return Usage(
        input=usage.prompt_tokens or 0,
        output=usage.completion_tokens or 0,
        cache_read=int(cache_read),
        cache_write=int(cache_write),
    )


def price_of(model: str, usage: Usage) -> float | None:
    """USD for `usage` on `model` from litellm's price data; None when the price is unknown."""
    provider = provider_of(model)
    if provider in ("local", "scripted"):
        return 0.0  # in-process, free
    try:
        prompt_cost, completion_cost = litellm().cost_per_token(
            model=model,
            prompt_tokens=usage.input,
            completion_tokens=usage.output,
            cache_read_input_tokens=usage.cache_read,
            cache_creation_input_tokens=usage.cache_write,
        )
    except Exception:  # litellm raises for models missing from its price map
        return None
    total = float(prompt_cost + completion_cost)
    if total == 0.0 and usage.total > 0 and provider not in KEYLESS_PROVIDERS:
        return None  # a zero price for a paid provider is a gap in the price map, not a free model
    return total


def _retryable_errors(lib) -> tuple[type[BaseException], ...]:
    return (
        lib.RateLimitError,
        lib.InternalServerError,
        lib.ServiceUnavailableError,
        lib.BadGatewayError,
        lib.APIConnectionError,
        lib.Timeout,
    )


def _backoff(attempt: int, options: CallOptions, exc: BaseException) -> float:
    retry_after = _retry_after(exc)
    if retry_after is not None:
        return min(retry_after, options.backoff_max_s)
    ceiling = min(options.backoff_max_s, options.backoff_base_s * (2**attempt))
    return ceiling / 2 + random.uniform(
        0, ceiling / 2
    )  # "equal jitter": never zero, never in lockstep


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, TimeoutError):
        return None
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _infra_error(model: str, exc: BaseException, retries: int) -> InfraError:
    kind = (
        "timed out"
        if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
        else "failed"
    )
    detail = (
        _short(exc) if not isinstance(exc, TimeoutError) else "no answer within the call timeout"
    )
    return InfraError(
        f"{model}: the provider {kind} after {retries + 1} attempt(s): {detail}",
        hint="the provider is overloaded or unreachable; try again later or raise the timeout",
        status=_status(exc),
    )


def _user_error(lib, model: str, exc: Exception) -> SkvmError:
    if isinstance(exc, lib.AuthenticationError):
        return ModelError(
            f"{model}: the provider rejected the API key",
            hint="check the key in your environment (`skvm doctor` lists which keys are set)",
        )
    if isinstance(exc, lib.NotFoundError):
        return ModelError(
            f"{model}: the provider does not know this model",
            hint="check the model id against the provider's model list",
        )
    if isinstance(exc, lib.ContextWindowExceededError):
        return ModelError(
            f"{model}: the conversation is longer than the model's context window",
            hint="shorten the skill or the task",
        )
    if isinstance(exc, lib.BadRequestError | lib.UnprocessableEntityError):
        return ModelError(f"{model}: the provider refused the request: {_short(exc)}")
    if isinstance(exc, lib.APIError):
        return InfraError(f"{model}: provider error: {_short(exc)}", status=_status(exc))
    return InfraError(
        f"{model}: unexpected failure in the model call: {type(exc).__name__}: {_short(exc)}"
    )


def _own_error(exc: BaseException) -> SkvmError | None:
    """Our providers raise SkvmError; litellm wraps it, so look through the chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SkvmError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
