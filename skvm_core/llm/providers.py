"""litellm custom providers for `local/…` and `scripted/…` model ids.

Imported only by `_bridge` after litellm itself, so every caller goes through the same
`litellm.acompletion` route whatever the model.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import litellm
from litellm import CustomLLM, ModelResponse
from litellm.types.utils import GenericStreamingChunk

from skvm_core.errors import SkvmError
from skvm_core.llm import local
from skvm_core.llm.scripted import ScriptedCall, ScriptedTurn, scripted_model


def _usage(prompt: int, completion: int, reused: int = 0) -> dict[str, Any]:
    """OpenAI-shaped usage; a prompt prefix served from a saved state counts as cached."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": reused},
    }


def _response(
    model: str,
    text: str,
    tool_calls: list[dict[str, Any]],
    prompt: int,
    completion: int,
    finish: str,
    reused: int = 0,
) -> ModelResponse:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return ModelResponse(
        id=f"skvm-{uuid.uuid4().hex[:12]}",
        created=int(time.time()),
        model=model,
        choices=[{"index": 0, "message": message, "finish_reason": finish}],
        usage=_usage(prompt, completion, reused),
    )


def _chunk(
    text: str = "",
    *,
    finished: bool = False,
    finish: str = "",
    usage: dict | None = None,
    tool_use=None,
) -> GenericStreamingChunk:
    return {
        "text": text,
        "tool_use": tool_use,
        "is_finished": finished,
        "finish_reason": finish,
        "usage": usage,
        "index": 0,
    }


class LocalProvider(CustomLLM):
    async def acompletion(self, model: str, messages: list, *args, **kwargs) -> ModelResponse:
        params = kwargs.get("optional_params") or {}
        try:
            generation = await local.generate(
                model,
                messages,
                params.get("tools") or [],
                max_tokens=int(params.get("max_tokens") or 1024),
                temperature=float(params.get("temperature") or 0.0),
                seed=params.get("seed"),
                grammar=_grammar(kwargs),
                stop=tuple(params.get("stop") or ()),
            )
        except SkvmError:
            raise
        return _response(
            model,
            generation.text,
            [],
            generation.prompt_tokens,
            generation.completion_tokens,
            generation.finish_reason,
            generation.reused_tokens,
        )

    async def astreaming(
        self, model: str, messages: list, *args, **kwargs
    ) -> AsyncIterator[GenericStreamingChunk]:
        params = kwargs.get("optional_params") or {}
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()

        def on_text(delta: str) -> None:
            loop.call_soon_threadsafe(pieces.put_nowait, delta)

        task = asyncio.ensure_future(
            local.generate(
                model,
                messages,
                params.get("tools") or [],
                max_tokens=int(params.get("max_tokens") or 1024),
                temperature=float(params.get("temperature") or 0.0),
                seed=params.get("seed"),
                on_text=on_text,
                grammar=_grammar(kwargs),
                stop=tuple(params.get("stop") or ()),
            )
        )
        task.add_done_callback(lambda _t: loop.call_soon_threadsafe(pieces.put_nowait, None))
        try:
            while (delta := await pieces.get()) is not None:
                yield _chunk(delta)
            generation = task.result()
        finally:
            task.cancel()
        usage = _usage(
            generation.prompt_tokens, generation.completion_tokens, generation.reused_tokens
        )
        yield _chunk(finished=True, finish=generation.finish_reason, usage=usage)


class ScriptedProvider(CustomLLM):
    async def _turn(
        self, model: str, messages: list, kwargs: dict
    ) -> tuple[str, list[dict[str, Any]], int, int, str]:
        """The next turn as (text, native tool calls, prompt tokens, completion tokens, why
        it ended)."""
        params = kwargs.get("optional_params") or {}
        scripted = scripted_model(model)
        scripted.grammars.append(_grammar(kwargs))
        turn = scripted.next_turn(messages, params.get("tools") or [])
        delay = turn.latency_s or scripted.latency_s
        if turn.fault == "hang":
            await asyncio.Event().wait()  # until the caller's timeout cancels us
        if delay:
            await asyncio.sleep(delay)  # simulated model latency
        _raise_fault(turn, model)
        calls = [
            {
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments(turn, call)},
            }
            for index, call in enumerate(turn.tool_calls)
        ]
        text = turn.text if turn.native else _inline_text(turn)
        prompt = (
            turn.usage.input
            if turn.usage
            else sum(4 + len(str(m.get("content") or "")) // 4 for m in messages)
        )
        completion = turn.usage.output if turn.usage else max(1, len(text) // 4) + 10 * len(calls)
        if not turn.native:
            calls = []
        finish = turn.finish_reason or ("tool_calls" if calls else "stop")
        return text, calls, prompt, completion, finish

    async def acompletion(self, model: str, messages: list, *args, **kwargs) -> ModelResponse:
        text, calls, prompt, completion, finish = await self._turn(model, messages, kwargs)
        return _response(f"scripted/{model}", text, calls, prompt, completion, finish)

    async def astreaming(
        self, model: str, messages: list, *args, **kwargs
    ) -> AsyncIterator[GenericStreamingChunk]:
        response = await self.acompletion(model, messages, *args, **kwargs)
        message = response.choices[0].message
        text = message.content or ""
        for start in range(0, len(text), 16):
            yield _chunk(text[start : start + 16])
        for index, call in enumerate(message.tool_calls or []):
            yield _chunk(
                tool_use={
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                    "index": index,
                }
            )
        usage = response.usage
        yield _chunk(
            finished=True,
            finish=response.choices[0].finish_reason,
            usage={
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
        )


def _grammar(kwargs: dict) -> str | None:
    """The decoding grammar the caller sent (litellm hands unknown parameters on)."""
    for source in (kwargs.get("optional_params") or {}, kwargs.get("litellm_params") or {}, kwargs):
        if isinstance(source, dict) and isinstance(source.get("grammar"), str):
            return source["grammar"]
    extra = (kwargs.get("optional_params") or {}).get("extra_body") or {}
    return extra.get("grammar") if isinstance(extra, dict) else None


def _arguments(turn: ScriptedTurn, call: ScriptedCall) -> str:
    arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
    if turn.fault == "malformed_tool_call":
        arguments = arguments[: max(1, len(arguments) // 2)]  # cut mid-object: invalid JSON
    return arguments


def _inline_text(turn: ScriptedTurn) -> str:
    """Calls written into the text, the way small local models emit them."""
    text = turn.text
    for call in turn.tool_calls:
        arguments = _arguments(turn, call)
        text += f'\n<tool_call>\n{{"name": {json.dumps(call.name)}, "arguments": {arguments}}}\n</tool_call>'
    return text


def _raise_fault(turn: ScriptedTurn, model: str) -> None:
    provider = "scripted"
    if turn.fault == "rate_limit":
        raise litellm.RateLimitError(
            "scripted 429: rate limited", llm_provider=provider, model=model
        )
    if turn.fault == "server_error":
        raise litellm.InternalServerError(
            "scripted 500: server error", llm_provider=provider, model=model
        )
    if turn.fault == "timeout":
        raise litellm.Timeout("scripted timeout", model=model, llm_provider=provider)
    if turn.fault == "connection":
        raise litellm.APIConnectionError(
            "scripted connection reset", llm_provider=provider, model=model
        )
