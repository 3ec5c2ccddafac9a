"""`ModelServer`: Chat Completions, Responses and Anthropic Messages endpoints on 127.0.0.1
for one model.

Every call goes through our own model client (retries, usage, cost, the embedded models'
worker), whatever the harness asked for: a harness names one model in its config, and
side calls it makes (titles, summaries) are served by the same model. Calls are recorded
as they finish, so a harness run's model turns, tokens and cost are known exactly even when
the harness reports none of them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skvm_core.errors import InfraError, SkvmError
from skvm_core.llm.client import CallOptions, complete
from skvm_core.llm.types import LLMResponse
from skvm_core.serve.messages_api import (
    count_tokens,
    messages_error,
    messages_request,
    messages_response,
    messages_stream,
)
from skvm_core.serve.translate import (
    ModelRequest,
    chat_request,
    chat_response,
    chat_stream,
    responses_request,
    responses_response,
    responses_stream,
)

HOST = "127.0.0.1"
# Harness prompts are long; a reply still has to fit beside them.
DEFAULT_MAX_TOKENS = 2048
HEARTBEAT_S = 5.0
MAX_BODY_BYTES = 32 * 1024 * 1024  # a long harness history is a few MB


@dataclass
class ServedCall:
    api: str  # "chat" | "responses" | "messages"
    request: ModelRequest
    response: LLMResponse | None
    error: str | None
    started: float  # time.monotonic()
    latency_ms: float


@dataclass
class ModelServer:
    """Serve `model` on an ephemeral loopback port until `stop()` (or the `async with`)."""

    model: str
    options: CallOptions = field(default_factory=CallOptions)
    served_name: str = "skvm-model"
    on_call: Callable[[ServedCall], None] | None = None
    calls: list[ServedCall] = field(default_factory=list)
    port: int = 0
    _runner: Any = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    async def start(self) -> str:
        from aiohttp import web

        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._loopback_only()])
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the ephemeral port chosen
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ModelServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def _allowed_hosts(self) -> set[str]:
        names = ("127.0.0.1", "localhost", "[::1]")
        return {*names, *(f"{n}:{self.port}" for n in names)}

    def _loopback_only(self):
        """A web page the user has open can make the browser send requests to loopback: a
        `Host` other than our own name (DNS rebinding) or any foreign `Origin` is refused."""
        from aiohttp import web

        @web.middleware
        async def check(request, handler):
            host = (request.headers.get("Host") or "").lower()
            origin = request.headers.get("Origin")
            if host not in self._allowed_hosts:
                return _error(403, f"host {host!r} is not this loopback server")
            if origin is not None and _origin_host(origin) not in self._allowed_hosts:
                return _error(403, f"cross-origin requests are refused (origin {origin!r})")
            return await handler(request)

        return check

    async def _models(self, request):
        from aiohttp import web

        entry = {"id": self.served_name, "object": "model", "owned_by": "skvm"}
        return web.json_response({"object": "list", "data": [entry]})

    async def _chat(self, request):
        return await self._serve(request, "chat")

    async def _responses(self, request):
        return await self._serve(request, "responses")

    async def _messages(self, request):
        return await self._serve(request, "messages")

    async def _count_tokens(self, request):
        from aiohttp import web

        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise TypeError("the body is not a JSON object")
            return web.json_response(count_tokens(body))
        except Exception as exc:
            return _error(400, f"unreadable request: {type(exc).__name__}: {exc}"[:500], "messages")

    async def _serve(self, request, api: str):
        from aiohttp import web

        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise TypeError("the body is not a JSON object")
            parsed = REQUESTS[api](body)
            name = str(body.get("model") or self.served_name)
        except Exception as exc:  # whatever a client sends that we cannot read is its error
            return _error(400, f"unreadable request: {type(exc).__name__}: {exc}"[:500], api)
        if not parsed.stream:
            response, problem = await self._call(api, parsed)
            if problem is not None or response is None:
                return _error(*(problem or (500, "no response")), api)
            return web.json_response(RESPONSES[api](response, name))
        # Headers go out at once and a comment every few seconds while the model works: a
        # long prompt on a CPU takes minutes, and harness clients drop idle streams.
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        try:
            await stream.prepare(request)
            work = asyncio.ensure_future(self._call(api, parsed))
            while not work.done():
                await asyncio.wait({work}, timeout=HEARTBEAT_S)
                if not work.done():
                    await stream.write(b": working\n\n")
            response, problem = work.result()
            if problem is not None or response is None:
                await stream.write(_stream_error(api, *(problem or (500, "no response"))))
            elif api == "chat":
                for data in chat_stream(response, name, parsed.include_usage):
                    await stream.write(f"data: {data}\n\n".encode())
            else:
                events = (messages_stream if api == "messages" else responses_stream)(
                    response, name
                )
                for event, data in events:
                    await stream.write(f"event: {event}\ndata: {data}\n\n".encode())
            await stream.write_eof()
        except ConnectionError:
            pass  # the harness went away; the call finishes and is recorded all the same
        return stream

    async def _call(
        self, api: str, parsed: ModelRequest
    ) -> tuple[LLMResponse | None, tuple[int, str] | None]:
        started = time.monotonic()
        response, problem = None, None
        async with self._lock:  # one model, one turn at a time
            try:
                response = await complete(
                    self.model, parsed.messages, parsed.tools, options=self._options(parsed)
                )
            except InfraError as exc:
                problem = (503, exc.message)
            except SkvmError as exc:
                problem = (400, exc.message)
        latency = (time.monotonic() - started) * 1000
        self._record(ServedCall(api, parsed, response, problem and problem[1], started, latency))
        return response, problem

    def _options(self, parsed: ModelRequest) -> CallOptions:
        wanted = parsed.max_tokens or DEFAULT_MAX_TOKENS
        cap = self.options.max_tokens or DEFAULT_MAX_TOKENS
        return CallOptions(
            timeout_s=self.options.timeout_s,
            max_retries=self.options.max_retries,
            temperature=self.options.temperature,
            seed=self.options.seed,
            max_tokens=min(int(wanted), max(cap, DEFAULT_MAX_TOKENS)),
            api_base=self.options.api_base,
        )

    def _record(self, call: ServedCall) -> None:
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)


REQUESTS = {"chat": chat_request, "responses": responses_request, "messages": messages_request}
RESPONSES = {"chat": chat_response, "responses": responses_response, "messages": messages_response}


def _error(status: int, message: str, api: str = "chat"):
    from aiohttp import web

    if api == "messages":
        return web.json_response(messages_error(status, message), status=status)
    kind = "invalid_request_error" if status == 400 else "server_error"
    return web.json_response({"error": {"message": message, "type": kind}}, status=status)


def _stream_error(api: str, status: int, message: str) -> bytes:
    kind = "invalid_request_error" if status == 400 else "server_error"
    if api == "messages":
        return f"event: error\ndata: {json.dumps(messages_error(status, message))}\n\n".encode()
    if api == "chat":
        return f"data: {json.dumps({'error': {'message': message, 'type': kind}})}\n\n".encode()
    event = {"type": "error", "code": kind, "message": message, "sequence_number": 0}
    return f"event: error\ndata: {json.dumps(event)}\n\n".encode()


def _origin_host(origin: str) -> str:
    from urllib.parse import urlsplit

    try:
        return (urlsplit(origin).netloc or "").lower()
    except ValueError:
        return ""
