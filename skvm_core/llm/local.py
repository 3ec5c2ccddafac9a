"""In-process llama.cpp models.

A `Llama` object is not thread-safe, so each loaded model is owned by one worker thread
that takes generation jobs from a queue. Async callers wait on a future; streamed text is
handed back through a callback, and a cancelled job stops between tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skvm_core.errors import ModelError
from skvm_core.llm.repetition import repetition_cut
from skvm_core.llm.types import Message
from skvm_core.llm.weights import resolve_local_weights

DEFAULT_CONTEXT = int(os.environ.get("SKVM_LOCAL_CONTEXT", "8192"))
# Memory for saved prompt states per loaded model (a 0.5B state is ~12 KB per token, a
# 1.5B's ~28 KB: an external harness's 7k-token first turn is ~200 MB, and a harness tab
# and our own agent's runs should each keep theirs).
STATE_CACHE_MB = int(os.environ.get("SKVM_LOCAL_STATE_CACHE_MB", "1024"))
_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    # Time until the first generated token: prompt processing, which prefix reuse cuts.
    prompt_ms: float = 0.0
    reused_tokens: int = 0  # the prompt's prefix taken from a saved state, not evaluated


@dataclass
class _Job:
    messages: list[Message]
    tools: list[dict[str, Any]]
    max_tokens: int
    temperature: float
    seed: int | None
    on_text: Callable[[str], None] | None
    grammar: str | None = None  # GBNF: every generated token must keep the text inside it
    stop: tuple[str, ...] = ()  # the caller's own stop strings, beside the template's
    cancelled: threading.Event = field(default_factory=threading.Event)
    result: Future = field(default_factory=Future)


def render_tools_prompt(tools: list[dict[str, Any]]) -> str:
    """Tool instructions in the tag format the Qwen family was trained on."""
    signatures = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    return (
        "\n\n# Tools\n\nYou can call these functions to act in the work folder. Their signatures, "
        "one per line, are inside <tools></tools>:\n<tools>\n"
        f"{signatures}\n</tools>\n\n"
        "To call a function, answer with a JSON object holding its name and arguments inside "
        "<tool_call></tool_call> tags, for example:\n<tool_call>\n"
        '{"name": "function_name", "arguments": {"argument": "value"}}\n</tool_call>\n'
        "You may put several such blocks in one answer. When the task is done, answer in plain "
        "text without any tool call."
    )


def to_plain_chat(messages: list[Message], tools: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Fold tool calls and tool results into plain system/user/assistant turns."""
    plain: list[dict[str, str]] = []
    tools_text = render_tools_prompt(tools) if tools else ""
    for message in messages:
        role = message.get("role")
        content = _text(message.get("content"))
        if role == "system":
            plain.append({"role": "system", "content": content + tools_text})
            tools_text = ""
        elif role == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function", {})
                arguments = function.get("arguments", "{}")
                with contextlib.suppress(json.JSONDecodeError):
                    arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
                body = json.dumps(
                    {"name": function.get("name"), "arguments": arguments}, ensure_ascii=False
                )
                content += f"\n<tool_call>\n{body}\n</tool_call>"
            plain.append({"role": "assistant", "content": content.strip()})
        elif role == "tool":
            response = f"<tool_response>\n{content}\n</tool_response>"
            if (
                plain
                and plain[-1]["role"] == "user"
                and plain[-1]["content"].startswith("<tool_response>")
            ):
                plain[-1]["content"] += "\n" + response  # one user turn for all results of a step
            else:
                plain.append({"role": "user", "content": response})
        else:
            plain.append({"role": "user", "content": content})
    if tools_text:
        plain.insert(0, {"role": "system", "content": "You are a helpful assistant." + tools_text})
    return plain


def to_template_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages as chat templates expect them: string content, tool-call arguments as
    objects (templates serialise them themselves)."""
    shaped: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {
            "role": message.get("role"),
            "content": _text(message.get("content")),
        }
        calls = []
        for call in message.get("tool_calls") or []:
            function = dict(call.get("function", {}))
            arguments = function.get("arguments", "{}")
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments) if arguments.strip() else {}
                except json.JSONDecodeError:
                    arguments = {}
            calls.append({"type": "function", "function": {**function, "arguments": arguments}})
        if calls:
            item["tool_calls"] = calls
        if message.get("role") == "tool":
            item["name"] = message.get("name", "")
            item["tool_call_id"] = message.get("tool_call_id", "")
        shaped.append(item)
    return shaped


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


# Tokens between loop checks: often enough to save most of a degenerate generation, rare
# enough that the check (well under a millisecond) never shows next to decoding.
REPETITION_CHECK_EVERY = 8


MIN_ROOM_TO_GROW = 1024  # reply room a grown context keeps beyond the prompt


class _ContextTooSmall(Exception):
    def __init__(self, needed: int) -> None:
        self.needed = needed


class LocalWorker:
    """Owns one `Llama` instance on a dedicated thread."""

    def __init__(
        self, weights: Path, context: int = DEFAULT_CONTEXT, state_cache_mb: int | None = None
    ) -> None:
        self.weights = weights
        self.context = context
        self.state_cache_mb = STATE_CACHE_MB if state_cache_mb is None else state_cache_mb
        self.template_knows_tools = False
        # Evaluated prompt states, keyed by their tokens: a new prompt starts from the
        # longest stored prefix (the system prompt, skill and tools shared by every run of a
        # skill), even when other jobs ran in between. Bounded; least recently used go first.
        # They outlive a reload for a larger context: a state fits any context it fits in.
        self.states = PromptStates(self.state_cache_mb * 1024 * 1024)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._loaded = threading.Event()
        self._load_error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._serve, name=f"llama:{weights.name}", daemon=True
        )
        self._thread.start()

    def submit(self, job: _Job) -> Future:
        self._jobs.put(job)
        return job.result

    def close(self) -> None:
        self._jobs.put(None)

    def _serve(self) -> None:
        llm = None
        template = None
        grammars: dict[str, Any] = {}
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if job.result.cancelled() or job.cancelled.is_set():
                continue
            try:
                if llm is None:
                    llm, template = self._load()
                try:
                    generation = self._generate(llm, template, job, grammars)
                except _ContextTooSmall as short:
                    # A longer prompt than any before (an external harness's system prompt):
                    # load again with room for it, up to what the model was trained on.
                    llm.close()
                    self.context = short.needed
                    llm, template = self._load()
                    generation = self._generate(llm, template, job, grammars)
                job.result.set_result(generation)
            except BaseException as exc:  # handed to the caller, never lost in the thread
                if not job.result.done():
                    job.result.set_exception(exc)

    def _load(self):
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(
                "llama-cpp-python is not installed, so local models cannot run",
                hint="install the local extra: `pip install -e '.[local]'` (or run `make run`)",
            ) from exc
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        threads = int(os.environ.get("SKVM_LOCAL_THREADS") or max(1, os.cpu_count() or 1))
        llm = Llama(
            model_path=str(self.weights),
            n_ctx=self.context,
            n_threads=threads,
            # Prompt processing would otherwise use every core whatever was asked; ggml's
            # threads spin, so two models side by side would each slow the other down.
            n_threads_batch=threads,
            verbose=False,
        )
        from skvm_core.llm.grammar_sampler import install

        install(llm)  # a grammar checks the sampled token, not the whole vocabulary
        source = llm.metadata.get("tokenizer.chat_template") or _CHATML
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise_template_error
        # Templates serialise tool calls with tojson; Jinja's own escapes <, > and & as
        # \u003c…, which the model would then copy into its code.
        env.filters["tojson"] = lambda value, indent=None: json.dumps(
            value, ensure_ascii=False, indent=indent
        )
        # A template that mentions tools renders them in the format the model was trained on.
        self.template_knows_tools = "tools" in source
        return llm, env.from_string(source)

    def render_prompt(self, template, job: _Job) -> str:
        if job.tools and self.template_knows_tools:
            return template.render(
                messages=to_template_messages(job.messages),
                tools=job.tools,
                add_generation_prompt=True,
            )
        # A template that knows no tools: our own rendering in the Qwen tag format.
        return template.render(
            messages=to_plain_chat(job.messages, job.tools), add_generation_prompt=True, tools=None
        )

    def _grammar(self, grammars: dict[str, Any], text: str):
        from llama_cpp import LlamaGrammar

        if text not in grammars:
            if len(grammars) > 32:
                grammars.clear()
            try:
                grammars[text] = LlamaGrammar.from_string(text, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"the decoding grammar does not parse: {exc}") from exc
        return grammars[text]

    def _generate(self, llm, template, job: _Job, grammars: dict[str, Any]) -> Generation:
        import time

        prompt = self.render_prompt(template, job)
        prompt_tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        room = self.context - len(prompt_tokens)
        wanted = len(prompt_tokens) + min(job.max_tokens, MIN_ROOM_TO_GROW)
        trained = int(llm._model.n_ctx_train())
        if wanted > self.context and self.context < trained:
            raise _ContextTooSmall(min(trained, 1 << (wanted - 1).bit_length()))
        if room < 16:
            raise ModelError(
                f"the prompt has {len(prompt_tokens)} tokens, more than the {self.context}-token context of {self.weights.name}",
                hint="shorten the skill or raise SKVM_LOCAL_CONTEXT",
            )
        reused = self.states.restore(llm, prompt_tokens)
        if job.seed is not None:
            llm.set_seed(job.seed)
        pieces: list[str] = []
        completion_tokens = 0
        finish = "stop"
        started = time.perf_counter()
        prompt_ms = 0.0
        stream = llm.create_completion(
            prompt_tokens,
            max_tokens=min(job.max_tokens, room),
            temperature=job.temperature,
            stop=_STOP + list(job.stop),
            stream=True,
            grammar=self._grammar(grammars, job.grammar) if job.grammar else None,
        )
        for chunk in stream:
            if not prompt_ms:
                prompt_ms = (time.perf_counter() - started) * 1000
            if job.cancelled.is_set():
                finish = "cancelled"
                break
            choice = chunk["choices"][0]
            delta = choice.get("text") or ""
            completion_tokens += 1
            if delta:
                pieces.append(delta)
                if job.on_text:
                    job.on_text(delta)
                if completion_tokens % REPETITION_CHECK_EVERY == 0:
                    cut = repetition_cut("".join(pieces))
                    if cut is not None:
                        pieces = ["".join(pieces)[:cut]]
                        finish = "stop"  # the kept text is complete; litellm knows no other reason
                        break
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
        self.states.save(llm)
        return Generation(
            text="".join(pieces),
            prompt_tokens=len(prompt_tokens),
            completion_tokens=completion_tokens,
            finish_reason=finish,
            prompt_ms=prompt_ms,
            reused_tokens=reused,
        )


class PromptStates:
    """Evaluated prompt states of one model, kept so a new prompt starts from the longest
    stored prefix (the system prompt, skill and tools every run of a skill shares; the
    whole history of an earlier turn), even when other jobs ran in between. Bounded in
    bytes; the least recently used state goes first.

    llama-cpp-python's own RAM cache stores the logits of every evaluated position with
    each state (hundreds of MB apiece, uncounted), which exhausted memory in a long bench;
    here a state keeps only the model's KV data and its tokens. The logits are not needed:
    generation always evaluates at least the prompt's last token again.
    """

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity = capacity_bytes
        self.items: dict[tuple[int, ...], Any] = {}  # insertion order = recency
        self.size = 0

    @staticmethod
    def _bytes(state) -> int:
        return int(state.llama_state_size) + state.input_ids.nbytes + state.scores.nbytes

    def restore(self, llm, tokens: list[int]) -> int:
        """Load the stored state sharing the longest prefix with `tokens`, when it beats
        what the context already holds; returns the prefix length now evaluated."""
        from llama_cpp import Llama

        current = Llama.longest_token_prefix(llm._input_ids.tolist(), tokens)
        best_key, best = None, current
        for key in self.items:
            shared = Llama.longest_token_prefix(key, tokens)
            if shared > best:
                best_key, best = key, shared
        if best_key is None:
            return current
        state = self.items.pop(best_key)
        self.items[best_key] = state  # most recently used
        llm.load_state(_sized_for(state, llm.n_ctx()))
        return best

    def save(self, llm) -> None:
        if self.capacity <= 0 or llm.n_tokens == 0:
            return
        state = _kv_state(llm)
        key = tuple(int(t) for t in state.input_ids[: state.n_tokens])
        size = self._bytes(state)
        if size > self.capacity:
            return
        if key in self.items:
            self.size -= self._bytes(self.items.pop(key))
        # A state whose tokens extend a stored one makes that one redundant.
        for old in [k for k in self.items if len(k) < len(key) and key[: len(k)] == k]:
            self.size -= self._bytes(self.items.pop(old))
        while self.items and self.size + size > self.capacity:
            self.size -= self._bytes(self.items.pop(next(iter(self.items))))
        self.items[key] = state
        self.size += size


def _sized_for(state, n_ctx: int):
    """`state` with its token array as long as the context it is loaded into (load_state
    takes the array as it is; a state saved before the context grew has a shorter one)."""
    if len(state.input_ids) == n_ctx:
        return state
    import copy

    import numpy as np

    sized = copy.copy(state)
    sized.input_ids = np.zeros(n_ctx, dtype=state.input_ids.dtype)
    sized.input_ids[: state.n_tokens] = state.input_ids[: state.n_tokens]
    return sized


def _kv_state(llm):
    """The context's state without its logits (Llama.save_state copies every evaluated
    position's logits, hundreds of MB, on each call); one zero row stands in for them,
    which load_state accepts."""
    import ctypes

    import numpy as np
    from llama_cpp import LlamaState, llama_cpp

    size = llama_cpp.llama_state_get_size(llm._ctx.ctx)
    buffer = (ctypes.c_uint8 * int(size))()
    written = int(llama_cpp.llama_state_get_data(llm._ctx.ctx, buffer, size))
    if written > int(size):
        raise ModelError("llama.cpp wrote more state than it said it would")
    return LlamaState(
        input_ids=llm.input_ids.copy(),
        scores=np.zeros((1, llm.n_vocab()), dtype=np.single),
        n_tokens=llm.n_tokens,
        llama_state=ctypes.string_at(buffer, written),
        llama_state_size=written,
        seed=llm._seed,
    )


def _raise_template_error(message: str) -> None:
    raise ModelError(f"chat template error: {message}")


_workers: dict[str, LocalWorker] = {}
_workers_lock = threading.Lock()


def worker_for(name: str) -> LocalWorker:
    with _workers_lock:
        worker = _workers.get(name)
        if worker is None:
            worker = LocalWorker(resolve_local_weights(name))
            _workers[name] = worker
        return worker


async def generate(
    name: str,
    messages: list[Message],
    tools: list[dict[str, Any]],
    *,
    max_tokens: int = 1024,
    temperature: float = 0.0,
    seed: int | None = None,
    on_text: Callable[[str], None] | None = None,
    grammar: str | None = None,
    stop: tuple[str, ...] = (),
) -> Generation:
    import asyncio

    worker = await asyncio.to_thread(worker_for, name)  # may assemble weights: off the loop
    job = _Job(
        messages=messages,
        tools=tools,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        on_text=on_text,
        grammar=grammar,
        stop=tuple(stop),
    )
    try:
        return await asyncio.wrap_future(worker.submit(job))
    finally:
        job.cancelled.set()  # on cancellation or timeout the worker stops at the next token
