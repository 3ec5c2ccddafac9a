"""The model layer's control flow, through litellm, with the scripted provider."""

import pytest

from skvm_core.errors import InfraError, ModelError
from skvm_core.llm import (
    CallOptions,
    ScriptedCall,
    ScriptedModel,
    ScriptedTurn,
    ToolSchema,
    complete,
    register_scripted,
)
from skvm_core.llm.client import price_of
from skvm_core.llm.types import Usage

READ = ToolSchema(
    name="read_file",
    description="Read a file",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
FAST = CallOptions(backoff_base_s=0.001, backoff_max_s=0.01, timeout_s=5)
USER = [{"role": "user", "content": "go"}]


def scripted(*turns: ScriptedTurn) -> tuple[str, ScriptedModel]:
    model = ScriptedModel(list(turns))
    return register_scripted(model), model


async def test_text_and_native_tool_calls_come_back_parsed():
    model_id, model = scripted(
        ScriptedTurn(
            text="ok", tool_calls=[ScriptedCall(name="read_file", arguments={"path": "a"})]
        )
    )
    response = await complete(model_id, USER, [READ], options=FAST)
    assert response.text == "ok"
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("read_file", {"path": "a"})]
    assert response.format_repairs == []
    assert response.usage.input > 0 and response.usage.output > 0
    assert response.cost_usd == 0.0 and response.latency_ms > 0
    assert model.requests[0][0]["content"] == "go"


async def test_text_tool_calls_are_recovered_and_recorded_as_repairs():
    model_id, _ = scripted(
        ScriptedTurn(
            tool_calls=[ScriptedCall(name="read_file", arguments={"path": "b"})], native=False
        )
    )
    response = await complete(model_id, USER, [READ], options=FAST)
    assert response.tool_calls[0].arguments == {"path": "b"}
    assert response.format_repairs == ["tool_call_tags"]


async def test_rate_limit_then_success_is_retried():
    model_id, _ = scripted(
        ScriptedTurn(fault="rate_limit"),
        ScriptedTurn(fault="server_error"),
        ScriptedTurn(text="done"),
    )
    seen = []
    response = await complete(
        model_id,
        USER,
        options=FAST,
        on_retry=lambda n, exc, delay: seen.append((n, type(exc).__name__)),
    )
    assert response.text == "done" and response.retries == 2
    assert seen == [(1, "RateLimitError"), (2, "InternalServerError")]


async def test_retries_run_out_into_an_infrastructure_error():
    model_id, model = scripted(*[ScriptedTurn(fault="rate_limit")] * 3)
    with pytest.raises(InfraError, match="after 3 attempt") as info:
        await complete(model_id, USER, options=CallOptions(max_retries=2, backoff_base_s=0.001))
    assert info.value.status == 429
    assert model.turns_used == 3


async def test_a_hanging_call_times_out_as_an_infrastructure_error():
    model_id, _ = scripted(ScriptedTurn(fault="hang"))
    with pytest.raises(InfraError, match="timed out"):
        await complete(model_id, USER, options=CallOptions(timeout_s=0.2, max_retries=0))


async def test_provider_timeout_then_success():
    model_id, _ = scripted(ScriptedTurn(fault="timeout"), ScriptedTurn(text="late but fine"))
    response = await complete(model_id, USER, options=FAST)
    assert response.text == "late but fine" and response.retries == 1


async def test_malformed_native_tool_call_json_is_flagged_on_the_call():
    model_id, _ = scripted(
        ScriptedTurn(
            tool_calls=[ScriptedCall(name="read_file", arguments={"path": "x" * 20})],
            fault="malformed_tool_call",
        )
    )
    response = await complete(model_id, USER, [READ], options=FAST)
    (call,) = response.tool_calls
    assert call.arguments_error and "invalid_arguments" in response.format_repairs


async def test_streaming_delivers_text_deltas_and_the_same_result():
    text = "a streamed answer that is longer than one chunk"
    model_id, _ = scripted(
        ScriptedTurn(
            text=text, tool_calls=[ScriptedCall(name="read_file", arguments={"path": "s"})]
        )
    )
    deltas: list[str] = []
    response = await complete(model_id, USER, [READ], options=FAST, on_text=deltas.append)
    assert len(deltas) > 1 and "".join(deltas) == text
    assert response.text == text and response.tool_calls[0].arguments == {"path": "s"}
    assert response.usage.output > 0


async def test_scripted_model_that_runs_out_is_a_model_error_not_a_retry():
    model_id, _ = scripted()
    with pytest.raises(ModelError, match="no turn left"):
        await complete(model_id, USER, options=FAST)


@pytest.mark.parametrize(
    "model, message",
    [
        ("gpt", "cannot tell which provider"),
        ("", "no model id"),
        ("openai/gpt-4o", "OPENAI_API_KEY"),
        ("nope/some-model", "not a provider litellm knows"),
        ("local/qwen9-tiny", "no embedded model is called"),
    ],
)
async def test_unusable_model_ids_fail_fast_with_a_hint(model, message, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError, match=message):
        await complete(model, USER)


async def test_missing_local_gguf_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        await complete(f"local/{tmp_path}/nothing.gguf", USER, options=FAST)


def test_prices_known_unknown_and_free():
    assert price_of("openai/gpt-4o", Usage(input=1000, output=1000)) > 0
    assert price_of("openai/no-such-model-xyz", Usage(input=10, output=10)) is None
    assert price_of("local/qwen2.5-coder-0.5b", Usage(input=10, output=10)) == 0.0


def test_scripted_file_models_load_and_report_malformed_files(tmp_path):
    good = tmp_path / "s.json"
    good.write_text('{"turns": [{"text": "hello"}]}')
    assert ScriptedModel.from_file(good).next_turn([], []).text == "hello"
    bad = tmp_path / "bad.json"
    bad.write_text('{"turns": [{"tool_calls": [{"arguments": {}}]}]}')
    with pytest.raises(ModelError, match="malformed"):
        ScriptedModel.from_file(bad)
    (tmp_path / "nojson.json").write_text("{")
    with pytest.raises(ModelError, match="not valid JSON"):
        ScriptedModel.from_file(tmp_path / "nojson.json")
