"""`skvm serve` answers only its own loopback name, refuses cross-origin requests, and
answers every malformed request with a clear 400 (never a 500)."""

import json

import aiohttp
import pytest

from skvm_core.llm import ScriptedModel, register_scripted
from skvm_core.serve import ModelServer
from tests.harness_helpers import turn

GOOD = {"model": "any", "messages": [{"role": "user", "content": "go"}]}


async def _send(url, *, data=None, headers=None):
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers or {}) as response,
    ):
        return response.status, await response.text()


@pytest.fixture
async def server():
    model = ScriptedModel(lambda messages, tools: turn(text="ok"))
    async with ModelServer(register_scripted(model)) as running:
        yield running


async def test_a_foreign_host_or_origin_is_refused(server):
    url = f"{server.base_url}/chat/completions"
    body = json.dumps(GOOD)
    assert (await _send(url, data=body))[0] == 200
    status, text = await _send(url, data=body, headers={"Host": "attacker.example"})
    assert status == 403 and "host" in text
    status, text = await _send(url, data=body, headers={"Origin": "https://attacker.example"})
    assert status == 403 and "cross-origin" in text
    local = {"Origin": f"http://127.0.0.1:{server.port}"}
    assert (await _send(url, data=body, headers=local))[0] == 200


MALFORMED = {
    "not json": b"{not json",
    "not an object": b"[1, 2]",
    "invalid utf-8": b'{"messages": "\xff\xfe"}',
    "messages not a list": json.dumps({"messages": "hi"}).encode(),
    "message not an object": json.dumps({"messages": [3]}).encode(),
    "content of numbers": json.dumps({"messages": [{"role": "user", "content": 5}]}).encode(),
    "tools not a list": json.dumps({**GOOD, "tools": {"a": 1}}).encode(),
    "temperature a word": json.dumps({**GOOD, "temperature": "hot"}).encode(),
    "max_tokens a word": json.dumps({**GOOD, "max_tokens": "many"}).encode(),
    "empty": b"",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
async def test_every_malformed_request_gets_a_clear_400(server, kind, api):
    body = MALFORMED[kind]
    if api == "responses" and kind == "messages not a list":
        pytest.skip("a Responses input may be a plain string")
    if api == "responses":
        body = body.replace(b'"messages"', b'"input"').replace(
            b'"max_tokens"', b'"max_output_tokens"'
        )
    status, text = await _send(f"{server.base_url}/{api}", data=body)
    assert status == 400, (status, text)
    assert json.loads(text)["error"]["message"]
