"""The Anthropic Messages API on our model server: content blocks in, tool_use out, plain
and streamed, token counting, and errors in that API's own shape."""

from __future__ import annotations

import json

import aiohttp

from skvm_core.llm import ScriptedModel, register_scripted
from skvm_core.serve import ModelServer
from tests.harness_helpers import call, turn

TOOLS = [
    {
        "name": "Bash",
        "description": "Run a shell command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
    },
    {"type": "web_search_20250305", "name": "web_search"},  # a server tool: not offered
]


async def _post(url: str, body: dict) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.text()


def _events(text: str) -> list[tuple[str, dict]]:
    found = []
    for chunk in text.split("\n\n"):
        lines = [line for line in chunk.splitlines() if not line.startswith(":")]
        name = next((line[7:] for line in lines if line.startswith("event: ")), None)
        data = next((line[6:] for line in lines if line.startswith("data: ")), None)
        if name and data:
            found.append((name, json.loads(data)))
    return found


async def test_tool_use_plain_then_the_tool_result_history_streamed():
    model = ScriptedModel([turn(call("Bash", command="ls")), turn(text="two files")])
    async with ModelServer(register_scripted(model)) as server:
        status, body = await _post(
            f"{server.base_url}/messages",
            {
                "model": "any",
                "max_tokens": 256,
                "system": [{"type": "text", "text": "You are terse."}],
                "messages": [{"role": "user", "content": "what is here?"}],
                "tools": TOOLS,
            },
        )
        assert status == 200
        reply = json.loads(body)
        assert reply["type"] == "message" and reply["stop_reason"] == "tool_use"
        [use] = reply["content"]
        assert use["type"] == "tool_use" and use["name"] == "Bash"
        assert use["input"] == {"command": "ls"} and use["id"].startswith("toolu_")
        assert set(reply["usage"]) >= {"input_tokens", "output_tokens"}
        # The model was offered only the custom tool, with its schema.
        assert [t.name for t in server.calls[0].request.tools] == ["Bash"]

        status, body = await _post(
            f"{server.base_url}/messages?beta=true",
            {
                "model": "any",
                "max_tokens": 256,
                "stream": True,
                "system": "You are terse.",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "what is here?"}]},
                    {"role": "assistant", "content": [{"type": "text", "text": "Looking."}, use]},
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": use["id"],
                                "content": [{"type": "text", "text": "a.txt b.txt"}],
                            },
                            {"type": "text", "text": "and?"},
                        ],
                    },
                ],
                "tools": TOOLS,
            },
        )
    assert status == 200
    events = _events(body)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert names[1:4] == ["content_block_start", "content_block_delta", "content_block_stop"]
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "two files"
    [delta] = [d for n, d in events if n == "message_delta"]
    assert delta["delta"]["stop_reason"] == "end_turn"
    # The history reached the model in our shape: one system text, the call, its result,
    # then the user's words.
    seen = model.requests[-1]
    assert seen[0] == {"role": "system", "content": "You are terse."}
    assert seen[2]["role"] == "assistant" and seen[2]["content"] == "Looking."
    assert seen[2]["tool_calls"][0]["id"] == use["id"]
    assert seen[3] == {"role": "tool", "tool_call_id": use["id"], "content": "a.txt b.txt"}
    assert seen[4] == {"role": "user", "content": "and?"}
    assert [c.api for c in server.calls] == ["messages", "messages"]


async def test_a_streamed_tool_use_arrives_as_input_json_and_counting_tokens_answers():
    model = ScriptedModel([turn(call("Bash", command="cat a.txt"))])
    async with ModelServer(register_scripted(model)) as server:
        status, body = await _post(
            f"{server.base_url}/messages",
            {
                "model": "m",
                "max_tokens": 64,
                "stream": True,
                "messages": [{"role": "user", "content": "go"}],
                "tools": TOOLS,
            },
        )
        assert status == 200
        events = _events(body)
        [start] = [d for n, d in events if n == "content_block_start"]
        assert (
            start["content_block"]["type"] == "tool_use" and start["content_block"]["input"] == {}
        )
        [piece] = [d for n, d in events if n == "content_block_delta"]
        assert json.loads(piece["delta"]["partial_json"]) == {"command": "cat a.txt"}
        status, body = await _post(
            f"{server.base_url}/messages/count_tokens",
            {"model": "m", "messages": [{"role": "user", "content": "x" * 400}]},
        )
        assert status == 200 and json.loads(body)["input_tokens"] >= 100
        assert len(server.calls) == 1  # counting asks no model


async def test_bad_requests_get_errors_in_the_messages_shape_and_the_server_keeps_serving():
    model = ScriptedModel([turn(text="fine")])
    async with ModelServer(register_scripted(model)) as server:
        url = f"{server.base_url}/messages"
        for bad in (
            {"max_tokens": 5, "messages": []},
            {"max_tokens": 5, "messages": [{"role": "robot", "content": "hi"}]},
            {"max_tokens": 5, "messages": [{"role": "user", "content": [{"text": "no type"}]}]},
            {"max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]},
        ):
            status, body = await _post(url, bad)
            error = json.loads(body)
            assert status == 400 and error["type"] == "error"
            assert error["error"]["type"] == "invalid_request_error" and error["error"]["message"]
        status, body = await _post(
            url, {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        )
        assert status == 200 and json.loads(body)["content"] == [{"type": "text", "text": "fine"}]
