"""Real requests to the embedded llama.cpp models (slow; run in CI)."""

import pytest

from skvm_core.llm import CallOptions, ToolSchema, complete

pytestmark = pytest.mark.local_model

WRITE = ToolSchema(
    name="write_file",
    description="Write text content to a file in the work folder",
    parameters={
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)


async def test_small_model_returns_a_parsed_tool_call():
    response = await complete(
        "local/qwen2.5-coder-0.5b",
        [
            {
                "role": "system",
                "content": "You are an agent. Act only through the tools you are given.",
            },
            {"role": "user", "content": "Create the file hello.txt containing the word hi."},
        ],
        [WRITE],
        options=CallOptions(max_tokens=200, timeout_s=300),
    )
    assert response.tool_calls, response.text
    call = response.tool_calls[0]
    assert call.name == "write_file" and call.arguments.get("path") == "hello.txt"
    assert response.format_repairs  # these models write calls as text
    assert response.usage.input > 50 and response.usage.output > 0
    assert response.cost_usd == 0.0


async def test_larger_model_answers_a_question_with_streaming():
    deltas: list[str] = []
    response = await complete(
        "local/qwen2.5-coder-1.5b",
        [{"role": "user", "content": "What is the capital of France? Answer with one word."}],
        options=CallOptions(max_tokens=20, timeout_s=300),
        on_text=deltas.append,
    )
    assert "paris" in response.text.lower()
    assert "".join(deltas) == response.text


async def test_a_prompt_prefix_served_from_a_saved_state_is_reported_as_cached():
    import uuid

    # A system prompt no earlier test sent (its first token is unique), then two questions.
    system = f"Session {uuid.uuid4().hex}. " + "You answer questions about CSV files. " * 40
    usages = []
    for question in ("How many rows?", "Which columns?"):
        response = await complete(
            "local/qwen2.5-coder-0.5b",
            [{"role": "system", "content": system}, {"role": "user", "content": question}],
            options=CallOptions(max_tokens=4, timeout_s=300),
        )
        usages.append(response.usage)
    first, second = usages
    assert first.cache_read < 10  # at most the chat template's opening tokens
    # The second reads the whole system prompt from the first's saved state.
    assert second.cache_read >= first.input - 12 and second.cache_read < second.input


def _constrained(grammar: str) -> str:
    from skvm_core.llm.local import LocalWorker, _Job
    from skvm_core.llm.weights import resolve_local_weights

    worker = LocalWorker(resolve_local_weights("qwen2.5-coder-0.5b"))
    try:
        job = _Job(
            messages=[{"role": "user", "content": "List the files, then stop."}],
            tools=[],
            max_tokens=40,
            temperature=0.0,
            seed=0,
            on_text=None,
            grammar=grammar,
        )
        return worker.submit(job).result().text
    finally:
        worker.close()


def test_checking_only_the_sampled_token_decodes_what_the_whole_vocabulary_check_did(
    monkeypatch,
):
    from skvm_core.llm import grammar_sampler
    from skvm_core.llm.grammar import code_act_grammar

    grammar = code_act_grammar().gbnf()
    fast = _constrained(grammar)
    monkeypatch.setattr(grammar_sampler, "install", lambda llm: None)  # llama-cpp's own chain
    assert fast.strip() and _constrained(grammar) == fast


def test_a_token_the_grammar_forbids_is_sampled_again_under_it():
    # The model would never start with this on its own: every first token falls back.
    text = _constrained('root ::= "zq" [0-9] [0-9] [0-9]\n')
    assert len(text) == 5 and text.startswith("zq") and text[2:].isdigit()


def test_saved_prompt_states_serve_a_prompt_after_the_context_grew():
    """A harness's long prompt makes the context grow (the model is loaded again); the
    states saved before still serve the prefix they share with the next prompt."""
    from skvm_core.llm.local import LocalWorker, _Job
    from skvm_core.llm.weights import resolve_local_weights

    worker = LocalWorker(resolve_local_weights("qwen2.5-coder-0.5b"), context=1024)
    system = "You answer questions about CSV files. " * 70

    def ask(question: str):
        job = _Job(
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": question},
            ],
            tools=[],
            max_tokens=8,
            temperature=0.0,
            seed=0,
            on_text=None,
        )
        return worker.submit(job).result()

    try:
        first = ask("How many rows?")
        grown = ask("Which columns? " + "Think about the header line. " * 100)
    finally:
        worker.close()
    assert worker.context > 1024 and grown.prompt_tokens > 1024
    assert first.reused_tokens == 0 and grown.reused_tokens >= first.prompt_tokens - 12
    assert grown.text.strip()
