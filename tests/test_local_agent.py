"""End to end on the real embedded models: each protocol acts, on both models."""

import pytest

from skvm_core.agent.bare import BareAgent, limits_for
from skvm_core.agent.protocols import ConstrainedProtocol
from skvm_core.agent.protocols.constrained import exact_call
from skvm_core.agent.tools import TOOLS
from skvm_core.agent.trace import read_trace
from skvm_core.llm import CallOptions, complete
from skvm_core.run.runner import run_task
from skvm_core.run.task import load_task
from skvm_core.store.workspace import Workspace
from tests.conftest import SAMPLE_SKILLS

pytestmark = pytest.mark.local_model
MODELS = ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]


async def test_small_model_runs_a_sample_task_end_to_end(tmp_path):
    task = load_task(SAMPLE_SKILLS / "tasks" / "invoice-three")
    task.max_steps = 4
    outcome = await run_task(task, "local/qwen2.5-coder-0.5b", workspace=Workspace(tmp_path))
    events = read_trace(outcome.run.trace_path)
    executed = [e for e in events if e.type == "tool_result"]
    assert executed, [e.type for e in events]
    assert events[0].protocol == "code-act" and "auto" in events[0].protocol_reason
    assert events[-1].type == "run_finished"
    assert outcome.run.status in ("ok", "timeout")
    assert outcome.run.usage.input > 0 and outcome.run.parse_failures == 0


@pytest.mark.parametrize("model", MODELS)
async def test_every_constrained_reply_is_one_valid_call(model):
    protocol = ConstrainedProtocol()
    tools = [
        TOOLS[name][0] for name in ("read_file", "write_file", "list_directory", "execute_command")
    ]
    decoding = protocol.decoding(tools, grammar_capable=True)
    for ask in ("What is in this folder?", "Count the lines of data.csv.", "Say hello."):
        response = await complete(
            model,
            [
                {
                    "role": "system",
                    "content": "You are an agent. " + protocol.instructions(tools, None),
                },
                {"role": "user", "content": ask},
            ],
            protocol.offered_tools(tools),
            options=CallOptions(max_tokens=400, timeout_s=300, decoding=decoding),
        )
        raw = response.raw_text if response.raw_text is not None else response.text
        found = exact_call(raw)
        assert found is not None, raw  # never prose alone, never a broken call
        assert found[1].name in {t.name for t in protocol.offered_tools(tools)}


@pytest.mark.parametrize("model", MODELS)
async def test_a_code_act_run_acts_in_the_sandbox(model, tmp_path):
    agent = BareAgent(model, protocol="code-act")
    result = await agent.run(
        "Create the file answer.txt containing the number 42.",
        tmp_path,
        limits=limits_for(model, max_steps=3, timeout_s=240),
    )
    commands = [t for s in result.steps for t in s.tools]
    assert commands and all(t.call.name == "execute_command" for t in commands)
    assert result.protocol == "code-act" and result.parse_failures == 0
