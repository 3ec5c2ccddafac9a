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
