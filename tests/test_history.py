"""The history budget: token estimates that do not undercount dense text, and cuts that
keep the prompt inside the budget even when the newest tool output is the large one."""

import json

import pytest

from skvm_core.agent.history import MARKER, estimate_tokens, fit_history, text_tokens
from tests.conftest import SAMPLE_SKILLS

LOG = SAMPLE_SKILLS / "tasks" / "log-unique-ips" / "fixtures" / "app.log"
SAMPLES = {
    "log": lambda: LOG.read_text()[:6000],
    "csv": lambda: "\n".join(
        f"{i},{i * 37 % 101},2026-03-{i % 28 + 1:02d},{i * 1.5:.2f}" for i in range(300)
    ),
    "json": lambda: json.dumps(
        [{"id": i, "sku": f"SKU-{i:05d}", "qty": i * 3} for i in range(150)]
    ),
    "prose": lambda: (SAMPLE_SKILLS / "csv-report" / "SKILL.md").read_text(),
}


def test_dense_text_costs_more_than_prose_per_character():
    log, prose = SAMPLES["log"](), SAMPLES["prose"]()
    assert text_tokens(log) / len(log) > 1.5 * text_tokens(prose) / len(prose)


@pytest.mark.local_model
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_estimate_never_undercounts_the_real_tokenizer(kind):
    from llama_cpp import Llama

    from skvm_core.llm.weights import resolve_local_weights

    vocab = Llama(
        model_path=str(resolve_local_weights("qwen2.5-coder-0.5b")), vocab_only=True, verbose=False
    )
    text = SAMPLES[kind]()
    real = len(vocab.tokenize(text.encode(), add_bos=False))
    estimate = text_tokens(text)
    assert real <= estimate <= 2.5 * real, (kind, real, estimate)


def test_a_large_newest_tool_output_is_cut_when_nothing_else_is_left():
    big = SAMPLES["log"]() * 4
    messages = [
        {"role": "system", "content": "agent"},
        {"role": "user", "content": "count the IPs"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": big},
    ]  # fmt: skip
    fitted, cuts = fit_history(messages, 2_000)
    assert cuts == 1 and sum(estimate_tokens(m) for m in fitted) <= 2_000
    assert fitted[-1]["content"].startswith(big[:100]) and "truncated" in fitted[-1]["content"]
    assert messages[-1]["content"] == big  # the agent's own history is never edited
    assert MARKER.split("{")[0] in fitted[-1]["content"]


def test_within_budget_nothing_is_touched():
    messages = [{"role": "user", "content": "hi"}]
    assert fit_history(messages, 100) == (messages, 0)
