"""Local-model costs of the action protocols, on the embedded 0.5B, as ratios measured side
by side in one process:

- constrained decoding: time per generated token with the tool-call grammar vs without;
- prompt reuse: prompt processing of a second run of the same skill vs the first, and of
  two skills' runs interleaved (A, B, A, B) with the saved prompt states vs without them.

Needs the local extra and the model files (`make setup`); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import statistics
from concurrent.futures import Future

from benchmarks._util import report

MODEL = "local/qwen2.5-coder-0.5b"
REPEATS = 3


def _worker(state_cache_mb: int | None = None):
    from skvm_core.llm.local import LocalWorker
    from skvm_core.llm.weights import resolve_local_weights

    return LocalWorker(
        resolve_local_weights(MODEL.removeprefix("local/")), state_cache_mb=state_cache_mb
    )


def _generate(worker, messages, tools, *, grammar=None, max_tokens=96):
    from skvm_core.llm.local import _Job

    job = _Job(
        messages=messages,
        tools=tools,
        max_tokens=max_tokens,
        temperature=0.0,
        seed=0,
        on_text=None,
        grammar=grammar,
    )
    future: Future = worker.submit(job)
    return future.result()


def _system(skill: str) -> list[dict]:
    from skvm_core.agent.bare import system_prompt
    from skvm_core.agent.protocols import ConstrainedProtocol
    from skvm_core.skill import load_skill
    from tests.conftest import SAMPLE_SKILLS  # the sample skills ship with the project

    loaded = load_skill(SAMPLE_SKILLS / skill)
    acting = ConstrainedProtocol().instructions([], None)
    return [{"role": "system", "content": system_prompt(loaded, "inject", [], acting)}]


def _tools():
    from skvm_core.agent.protocols import ConstrainedProtocol
    from skvm_core.agent.tools import TOOLS

    offered = ConstrainedProtocol().offered_tools([schema for schema, _ in TOOLS.values()])
    return [tool.openai() for tool in offered]


def constrained_overhead() -> dict:
    from skvm_core.llm.grammar import tool_call_grammar

    worker = _worker()
    tools = _tools()
    grammar = tool_call_grammar(tools, thought_chars=200).gbnf()
    messages = [
        *_system("csv-report"),
        {"role": "user", "content": "Summarise sales.csv by region into report.json."},
    ]
    per_token = {"free": [], "constrained": []}
    _generate(worker, messages, tools, max_tokens=4)  # load, and evaluate the prompt once
    for _ in range(REPEATS):
        for name, chosen in (("free", None), ("constrained", grammar)):
            started = _clock()
            generation = _generate(worker, messages, tools, grammar=chosen)
            decode_ms = (_clock() - started) * 1000 - generation.prompt_ms
            per_token[name].append(decode_ms / max(1, generation.completion_tokens))
    worker.close()
    ratio = statistics.median(per_token["constrained"]) / statistics.median(per_token["free"])
    return report(
        "protocols: constrained vs free ms/token",
        f"{ratio:.2f}x ({statistics.median(per_token['constrained']):.1f} vs {statistics.median(per_token['free']):.1f} ms)",
        "<= 1.3x",
        ratio <= 1.3,
    )


def prompt_reuse() -> list[dict]:
    tools = _tools()
    skills = {"A": _system("csv-report"), "B": _system("log-triage")}
    asks = ["Summarise the first file.", "Summarise the second file.", "Check the result."]

    def prompt_ms(worker, skill: str, ask: str) -> float:
        messages = [*skills[skill], {"role": "user", "content": ask}]
        return _generate(worker, messages, tools, max_tokens=1).prompt_ms

    with_cache, without = _worker(), _worker(state_cache_mb=0)
    for worker in (with_cache, without):
        _generate(worker, [{"role": "user", "content": "hi"}], [], max_tokens=1)  # load
    first = [prompt_ms(with_cache, "A", asks[0])]
    second = [prompt_ms(with_cache, "A", asks[1])]
    # Interleaved runs of two skills: the context alone keeps only the last prompt.
    interleaved = {"cache": 0.0, "none": 0.0}
    for worker, name in ((with_cache, "cache"), (without, "none")):
        prompt_ms(worker, "B", asks[0])
        for ask in asks[1:]:
            for skill in ("A", "B"):
                interleaved[name] += prompt_ms(worker, skill, ask)
    sequential_cold = sum(prompt_ms(without, s, asks[0]) for s in ("A", "B"))
    with_cache.close()
    without.close()
    second_ratio = statistics.median(first) / max(1e-6, statistics.median(second))
    interleave_ratio = interleaved["none"] / max(1e-6, interleaved["cache"])
    return [
        report(
            "protocols: prompt time, 1st run / 2nd run of a skill",
            f"{second_ratio:.1f}x ({first[0]:,.0f} vs {second[0]:,.0f} ms)",
            ">= 3x",
            second_ratio >= 3,
        ),
        report(
            "protocols: interleaved A,B,A,B prompt time, no reuse / reuse",
            f"{interleave_ratio:.1f}x ({interleaved['none']:,.0f} vs {interleaved['cache']:,.0f} ms; two cold prompts {sequential_cold:,.0f} ms)",
            ">= 3x",
            interleave_ratio >= 3,
        ),
    ]


def _clock() -> float:
    import time

    return time.perf_counter()


def run() -> list[dict]:
    try:
        import llama_cpp  # noqa: F401

        from skvm_core.llm.weights import resolve_local_weights

        resolve_local_weights(MODEL.removeprefix("local/"))
    except Exception as exc:  # no local extra or no model files here
        return [report("protocols", f"skipped: {exc}", "", None)]
    asyncio.get_event_loop_policy()  # the workers are threads; nothing async is needed
    return [constrained_overhead(), *prompt_reuse()]


if __name__ == "__main__":
    run()
