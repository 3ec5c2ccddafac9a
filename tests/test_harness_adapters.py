"""External agent harnesses: the OpenAI-compatible model server, the transcript converters
(on transcripts recorded from real OpenCode and Codex CLI runs), the process handling of
an adapter, export, and the real CLIs driven through our server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from skvm_core.agent.result import RunLimits
from skvm_core.errors import SkvmError
from skvm_core.harness import HARNESSES, get_harness
from skvm_core.harness.external import ExternalHarness
from skvm_core.harness.install import binary_path
from skvm_core.harness.transcript import (
    ClaudeCodeTranscript,
    CodexTranscript,
    OpenCodeTranscript,
    PiTranscript,
)
from skvm_core.llm import ScriptedModel, register_scripted
from skvm_core.llm.client import CallOptions
from skvm_core.serve import ModelServer
from tests.harness_helpers import call, turn

FIXTURES = Path(__file__).parent / "fixtures" / "harness"


async def _post(url: str, body: dict) -> tuple[int, str]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.text()


def _sse_data(text: str) -> list[dict]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "bash",
            "description": "run a command",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
            },
        },
    }
]


async def test_chat_completions_serve_text_and_tool_calls_plain_and_streamed():
    model = ScriptedModel([turn(call("bash", command="ls")), turn(text="all done")])
    async with ModelServer(register_scripted(model)) as server:
        status, body = await _post(
            f"{server.base_url}/chat/completions",
            {"model": "any", "messages": [{"role": "user", "content": "go"}], "tools": TOOLS},
        )
        assert status == 200
        reply = json.loads(body)
        assert reply["choices"][0]["finish_reason"] == "tool_calls"
        call_ = reply["choices"][0]["message"]["tool_calls"][0]
        assert call_["function"]["name"] == "bash"
        assert json.loads(call_["function"]["arguments"]) == {"command": "ls"}
        status, body = await _post(
            f"{server.base_url}/chat/completions",
            {
                "model": "any",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [
                    {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
                    {"role": "user", "content": "go"},
                    {"role": "assistant", "content": None, "tool_calls": [call_]},
                    {"role": "tool", "tool_call_id": call_["id"], "content": "a.txt"},
                ],
                "tools": TOOLS,
            },
        )
    chunks = _sse_data(body)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "all done" and body.rstrip().endswith("data: [DONE]")
    assert chunks[-1]["usage"]["total_tokens"] >= 0  # usage chunk when asked for
    # The history reached the model in our message shape, the system text in one message.
    seen = model.requests[-1]
    assert seen[0] == {"role": "system", "content": "be brief"}
    assert seen[-1]["role"] == "tool" and seen[-1]["content"] == "a.txt"
    assert len(server.calls) == 2 and all(c.api == "chat" for c in server.calls)


async def test_responses_api_streams_typed_events_and_reads_function_call_history():
    model = ScriptedModel([turn(call("bash", command="wc -l x"), text="Counting.")])
    async with ModelServer(register_scripted(model)) as server:
        status, body = await _post(
            f"{server.base_url}/responses",
            {
                "model": "any",
                "stream": True,
                "instructions": "You are a coding agent.",
                "tools": [
                    {
                        "type": "function",
                        "name": "bash",
                        "parameters": TOOLS[0]["function"]["parameters"],
                    },
                    {"type": "custom", "name": "apply_patch"},  # not a function: not offered
                ],
                "input": [
                    {
                        "type": "message",
                        "role": "developer",
                        "content": [{"type": "input_text", "text": "sandboxed"}],
                    },
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "count"}],
                    },
                    {
                        "type": "function_call",
                        "call_id": "c1",
                        "name": "bash",
                        "arguments": '{"command": "ls"}',
                    },
                    {"type": "function_call_output", "call_id": "c1", "output": "x"},
                ],
            },
        )
    assert status == 200
    events = [
        json.loads(line.removeprefix("data: "))
        for line in body.splitlines()
        if line.startswith("data: ")
    ]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [item["type"] for item in done] == ["message", "function_call"]
    assert json.loads(done[1]["arguments"]) == {"command": "wc -l x"}
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    seen = model.requests[-1]
    assert seen[0] == {"role": "system", "content": "You are a coding agent.\n\nsandboxed"}
    assert seen[2]["tool_calls"][0]["id"] == "c1" and seen[3]["tool_call_id"] == "c1"


async def test_bad_requests_and_model_faults_get_json_errors_and_the_server_keeps_serving():
    model = ScriptedModel([turn(fault="server_error"), turn(text="fine")])
    options = CallOptions(max_retries=0)
    async with ModelServer(register_scripted(model), options=options) as server:
        status, body = await _post(f"{server.base_url}/chat/completions", {"model": "x"})
        assert status == 400 and "messages" in json.loads(body)["error"]["message"]
        messages = [{"role": "user", "content": "hi"}]
        status, body = await _post(
            f"{server.base_url}/chat/completions", {"model": "x", "messages": messages}
        )
        assert status == 503 and json.loads(body)["error"]["type"] == "server_error"
        status, body = await _post(
            f"{server.base_url}/chat/completions", {"model": "x", "messages": messages}
        )
        assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == "fine"
    assert [c.error is None for c in server.calls] == [False, True]


def _recorded(name: str) -> list[str]:
    return (FIXTURES / name).read_text("utf-8").splitlines()


def test_an_opencode_transcript_becomes_steps_tool_results_and_usage():
    events: list = []
    transcript = OpenCodeTranscript("r", events.append).feed_all(
        _recorded("opencode-count-rows.jsonl")
    )
    assert len(transcript.steps) == 2
    bash = transcript.steps[0].tools[0]
    assert bash.call.name == "bash" and bash.call.arguments["command"] == "wc -l data.csv"
    assert bash.output == "3 data.csv\n" and bash.ok and bash.exit_code == 0
    assert transcript.final_text.startswith("To count the data rows")
    assert transcript.usage is not None and transcript.usage.input == 7213 + 7278
    assert transcript.cost_usd == 0
    kinds = [e.type for e in events]
    assert kinds == ["tool_call", "tool_result", "llm_response"]


def test_a_claude_code_transcript_joins_the_skill_body_to_its_call_and_prices_nothing():
    events: list = []
    transcript = ClaudeCodeTranscript("r", events.append).feed_all(
        _recorded("claude-code-skill-then-bash.jsonl")
    )
    calls = [t for step in transcript.steps for t in step.tools]
    assert [c.call.name for c in calls] == ["Skill", "Bash"]
    skill = calls[0]
    assert skill.call.arguments == {"skill": "row-counter"}
    # Its result says it launched; the body came as the next user message and joins it,
    # so a load is seen in the converted trace.
    assert skill.output.startswith("Launching skill: row-counter")
    assert "Run `wc -l < FILE > count.txt`" in skill.output
    assert calls[1].call.arguments["command"] == "wc -l < data.csv > count.txt" and calls[1].ok
    assert transcript.final_text == "The count is written."
    assert transcript.usage is not None and transcript.usage.input == 26757
    assert transcript.cost_usd is None  # priced as Claude's: not a cost of our model
    kinds = [e.type for e in events]
    assert kinds == ["tool_call", "tool_result", "tool_call", "tool_result", "llm_response"]


def test_a_pi_transcript_becomes_steps_with_the_read_skill_and_reported_usage():
    events: list = []
    transcript = PiTranscript("r", events.append).feed_all(
        _recorded("pi-read-skill-then-bash.jsonl")
    )
    calls = [t for step in transcript.steps for t in step.tools]
    assert [c.call.name for c in calls] == ["read", "bash"]
    assert calls[0].call.arguments == {"path": ".pi/skills/demo/SKILL.md"}
    assert "The magic word is PLUGH" in calls[0].output and calls[0].ok
    assert calls[1].output == "(no output)"
    assert transcript.final_text == "The word is written." and len(transcript.steps) == 3
    assert transcript.usage is not None and transcript.usage.input == 744 + 785 + 795
    assert transcript.cost_usd is None
    kinds = [e.type for e in events]
    assert kinds == ["tool_call", "tool_result", "tool_call", "tool_result", "llm_response"]


def test_a_codex_transcript_becomes_steps_and_reported_usage_without_a_cost():
    events: list = []
    transcript = CodexTranscript("r", events.append).feed_all(_recorded("codex-count-rows.jsonl"))
    assert transcript.final_text.startswith("I'm sorry")
    assert transcript.usage is not None
    assert (transcript.usage.input, transcript.usage.output) == (12539, 99)
    assert transcript.cost_usd is None  # Codex reports no cost: unknown, not 0
    # Its warning that our model is missing from its catalog is not a run error.
    assert transcript.errors == [] and [e.type for e in events] == ["llm_response"]


def test_codex_command_and_file_items_become_tool_steps():
    lines = [
        json.dumps(
            {
                "type": "item.completed",
                "item": {
                    "id": "i1",
                    "type": "command_execution",
                    "command": "bash -lc ls",
                    "aggregated_output": "a\n",
                    "exit_code": 0,
                    "status": "completed",
                },
            }
        ),
        json.dumps(
            {
                "type": "item.completed",
                "item": {
                    "id": "i2",
                    "type": "command_execution",
                    "command": "false",
                    "aggregated_output": "",
                    "exit_code": 1,
                    "status": "failed",
                },
            }
        ),
        json.dumps(
            {
                "type": "item.completed",
                "item": {
                    "id": "i3",
                    "type": "file_change",
                    "changes": [{"path": "out.txt", "kind": "add"}],
                    "status": "completed",
                },
            }
        ),
        "not json",
        json.dumps({"type": "turn.failed", "error": {"message": "stream disconnected"}}),
    ]
    transcript = CodexTranscript("r").feed_all(lines)
    tools = [step.tools[0] for step in transcript.steps]
    assert [(t.call.name, t.ok) for t in tools] == [
        ("shell", True),
        ("shell", False),
        ("apply_patch", True),
    ]
    assert tools[2].output == "add out.txt" and transcript.unreadable == 1
    assert transcript.errors == ["stream disconnected"] and transcript.usage is None


class _ScriptHarness(ExternalHarness):
    """A stand-in CLI: a shell script, so process handling is tested without npm."""

    name = "script"
    transcript_class = OpenCodeTranscript
    confine = False  # the script runs the test's own Python

    def __init__(self, script: str) -> None:
        self.script = script

    def cli(self) -> Path:
        return Path("/bin/sh")

    def configure(self, home, work_dir, base_url, limits) -> None:
        (home / "url").write_text(base_url)

    def command(self, cli, prompt, work_dir) -> list[str]:
        return [str(cli), "-c", self.script]


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def test_a_hanging_harness_is_killed_at_its_timeout_with_every_process_it_started(tmp_path):
    marker = f"skvm-hang-{uuid.uuid4().hex[:8]}"
    # The CLI starts a background child, says one thing, then never ends.
    sleeper = f"{sys.executable} -c 'import time; time.sleep(600)'"
    script = f'{sleeper} {marker}-child & echo \'{{"type": "step_start"}}\'; {sleeper} {marker}'
    harness = _ScriptHarness(script)
    result = await harness.run(
        "scripted/none",
        "hang",
        tmp_path / "work",
        None,
        RunLimits(timeout_s=1.5),
        run_id="hang",
        trace_path=tmp_path / "trace.jsonl",
    )
    assert result.status == "timeout" and "1.5 s" in result.status_detail
    assert len(result.steps) == 1  # what it printed before hanging was read
    assert _processes_with(marker) == []
    trace = [
        json.loads(line)["type"] for line in (tmp_path / "trace.jsonl").read_text().splitlines()
    ]
    assert trace[0] == "run_started" and trace[-1] == "run_finished" and "error" in trace


async def test_a_harness_that_exits_with_an_error_is_a_crashed_run_with_its_stderr(tmp_path):
    harness = _ScriptHarness("echo 'config is broken' >&2; exit 3")
    result = await harness.run(
        "scripted/none", "x", tmp_path / "work", None, RunLimits(), run_id="bad", trace_path=None
    )
    assert result.status == "crashed" and "exited with 3" in result.status_detail
    assert "config is broken" in result.status_detail
    assert result.cost_usd is None and result.extra["usage_source"] == "unknown"


def test_unknown_harness_is_a_clear_error():
    with pytest.raises(SkvmError, match="unknown harness 'cursor'"):
        get_harness("cursor")
    assert HARNESSES == ("bare", "opencode", "codex", "claude-code", "pi")
    from skvm_core.cli import HARNESS_CHOICES

    assert HARNESS_CHOICES == HARNESSES  # the parser's copy, kept free of harness imports


def _installed(name: str) -> bool:
    return binary_path(name).exists()


def _scripted_for(harness: str) -> tuple[str, ScriptedModel]:
    """A model that runs one command through the harness's own shell tool, then answers."""

    def respond(messages, tools):
        names = {t.get("function", t).get("name") for t in tools}
        acted = any(m.get("role") == "tool" for m in messages)
        if not names or acted:  # a title/summary request, or the command already ran
            return turn(text="The count is written.")
        if "bash" in names:  # OpenCode
            return turn(call("bash", command="wc -l < data.csv > count.txt", description="count"))
        return turn(call("exec_command", cmd="wc -l < data.csv > count.txt"))  # Codex

    model = ScriptedModel(respond)
    return register_scripted(model), model


def _sample_skill(tmp_path: Path) -> Path:
    folder = tmp_path / "skill" / "row-counter"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: row-counter\ndescription: Count the data rows of a CSV file into count.txt.\n---\n\n"
        "# Row counter\n\nRun `wc -l < FILE > count.txt`.\n"
    )
    return folder


@pytest.mark.parametrize("name", ["opencode", "codex", "claude-code", "pi"])
async def test_the_real_cli_runs_through_our_server_and_loads_the_exported_skill(tmp_path, name):
    if not _installed(name):
        pytest.skip(f"the {name} CLI is not installed (make harnesses)")
    from skvm_core.cli import main

    project = tmp_path / "project"
    project.mkdir()
    (project / "data.csv").write_text("a,b\n1,2\n3,4\n")
    code = await asyncio.to_thread(
        main,
        [
            "export",
            "--skill",
            str(_sample_skill(tmp_path)),
            "--target",
            "local/qwen2.5-coder-0.5b",
            "--harness",
            name,
            "--into",
            str(project),
            "--original",
        ],
    )
    assert code == 0

    def respond(messages, tools):
        """Load the skill the harness's way, run its command, answer."""
        results = [m for m in messages if m.get("role") == "tool"]
        if not tools or len(results) >= 2:
            return turn(text="The count is written.")
        if results:
            return turn(_shell_call(name, "wc -l < data.csv > count.txt"))
        if name == "opencode":  # its `skill` tool returns the body
            return turn(call("skill", name="row-counter"))
        if name == "claude-code":  # its Skill tool; the body follows as a user message
            return turn(call("Skill", skill="row-counter"))
        if name == "pi":  # pi lists the skill's path and the model reads it
            return turn(call("read", path=".pi/skills/row-counter/SKILL.md"))
        return turn(_shell_call(name, "cat .agents/skills/row-counter/SKILL.md"))  # Codex reads it

    model = ScriptedModel(respond)
    model_id = register_scripted(model)
    events: list = []
    result = await get_harness(name).run(
        model_id,
        "Count the data rows in data.csv and write the number to count.txt",
        project,
        None,
        RunLimits(timeout_s=240),
        run_id=name,
        trace_path=tmp_path / "trace.jsonl",
        subscribers=[events.append],
    )
    assert result.status == "ok", result.status_detail
    assert (project / "count.txt").read_text().strip() == "3"
    # The harness read the exported skill from where export put it, offered it, and its
    # own way of loading it gave the model the skill's body.
    prompts = json.dumps(model.requests)
    assert "row-counter" in prompts and "Count the data rows of a CSV file" in prompts
    after_load = model.requests[-1][[m.get("role") for m in model.requests[-1]].index("tool") :]
    loaded = [m["content"] for m in after_load if m.get("role") in ("tool", "user")]
    assert "Run `wc -l < FILE > count.txt`" in json.dumps(loaded), loaded
    kinds = [e.type for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert "tool_result" in kinds and "llm_response" in kinds
    assert result.extra["usage_source"] == "server" and result.extra["model_calls"] >= 2
    assert result.files_written == 1  # count.txt; the skill folder is not the run's work
    # Every process the CLI started has ended.
    assert _processes_with(str(project)) == []


def test_a_harness_cli_dies_with_the_process_that_ran_it(tmp_path):
    """A SIGKILLed skvm leaves no harness CLI running. The stand-in CLI holds a FIFO open:
    the test reads its first byte when it runs, and end-of-file once it is gone."""
    import select
    import signal
    import subprocess
    import textwrap

    fifo = tmp_path / "alive"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    cli = f"import time; f = open({str(fifo)!r}, 'w'); f.write('x'); f.flush(); time.sleep(600)"
    program = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from skvm_core.harness.process import run_cli
        argv = [sys.executable, "-c", {cli!r}]
        asyncio.run(run_cli(argv, Path({str(tmp_path)!r}), {{}}, 600, lambda line: None))
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", program])
    try:
        assert select.select([reader], [], [], 60)[0], "the CLI never started"
        assert os.read(reader, 1) == b"x"
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert select.select([reader], [], [], 60)[0], "the CLI outlived its parent"
    assert os.read(reader, 1) == b""  # every writer is gone: the CLI died with its parent
    os.close(reader)


async def test_a_workbench_tab_runs_its_model_in_the_harness_and_streams_the_trace(tmp_path):
    if not _installed("opencode"):
        pytest.skip("the opencode CLI is not installed (make harnesses)")
    from skvm_core.profile.store import BUNDLED
    from skvm_tui.widgets.trace_pane import TracePane
    from tests.test_workbench import SIZE, settle
    from tests.workbench_helpers import make_app

    model_id, model = _scripted_for("opencode")
    tab = f"{model_id}+opencode"
    profile = BUNDLED / "bare-agent" / "local--qwen2.5-coder-1.5b" / "latest.json"
    app = make_app(tmp_path, skill="csv-report", targets=[tab], overrides={tab: profile})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.task_id = "csv-count-status"
        await pilot.press("r")
        await settle(app, pilot)
        outcome = app.last_runs[tab]
        assert outcome.run.status == "ok" and outcome.run.extra["harness"] == "opencode"
        pane = app.query_one(TracePane)
        pane.flush(everything=True)
        assert pane.totals["calls"] >= 1 and pane.events_drawn > 4
    # The run used the compiled variant, installed where OpenCode looks for skills.
    assert "csv-report" in json.dumps(model.requests)


LOCAL = "local/qwen2.5-coder-1.5b"


@pytest.mark.local_model
@pytest.mark.parametrize("name", ["opencode", "codex", "claude-code", "pi"])
async def test_the_embedded_1_5b_completes_a_sample_task_through_the_harness(tmp_path, name):
    """The real CLI, the real embedded model behind our server, a sample task, graded."""
    if not _installed(name):
        pytest.skip(f"the {name} CLI is not installed (make harnesses)")
    from skvm_core.agent.trace import read_trace
    from skvm_core.run.runner import run_task
    from skvm_core.run.task import load_task
    from skvm_core.store.workspace import Workspace
    from tests.conftest import SAMPLE_SKILLS

    task = load_task(SAMPLE_SKILLS / "tasks" / "csv-count-status")
    outcome = await run_task(
        task,
        LOCAL,
        workspace=Workspace(tmp_path / "ws"),
        harness=name,
        sampling={"temperature": 0.0, "seed": 0},
    )
    run = outcome.run
    assert run.status == "ok", run.status_detail  # the CLI finished on its own
    assert run.extra["harness"] == name and run.extra["model_calls"] >= 1
    assert run.usage.input > 1000 and run.extra["usage_source"] == "server"
    events = read_trace(run.trace_path)
    kinds = [e.type for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("llm_response") >= 1
    assert 0.0 <= outcome.score.score <= 1.0  # graded like any run (passing is the model's job)


def test_a_bench_plan_runs_every_condition_in_every_harness_and_labels_them():
    from skvm_core.bench.conditions import split_harness, split_protocol
    from skvm_core.bench.orchestrator import BenchPlan

    plan = BenchPlan(
        session="s",
        tasks=[],
        targets=["local/qwen2.5-coder-1.5b"],
        conditions=["original", "compiled@native"],
        harnesses=["bare", "codex"],
    )
    assert plan.matrix_conditions() == [
        "original",
        "compiled@native",
        "original+codex",
        "compiled@native+codex",
    ]
    assert split_harness("compiled@native+codex") == ("compiled@native", "codex")
    assert split_protocol("compiled@native+codex") == ("compiled", "native")
    assert split_harness("custom:mine=/skills/a+b") == ("custom:mine=/skills/a+b", "bare")


def test_profiles_are_kept_per_harness_and_a_tab_falls_back_to_our_agents_profile(tmp_path):
    from skvm_core.profile.runner import ProfileOptions, session_dir
    from skvm_core.profile.store import find_profile
    from skvm_core.store.workspace import Workspace

    workspace = Workspace(tmp_path / "ws")
    options = ProfileOptions(model="local/qwen2.5-coder-1.5b", harness="codex")
    assert "/codex/local--qwen2.5-coder-1.5b/" in str(session_dir(workspace, options))
    bare = find_profile("local/qwen2.5-coder-1.5b", workspace)
    assert bare is not None and "bare-agent" in str(bare)
    assert find_profile("local/qwen2.5-coder-1.5b+codex", workspace) == bare
    own = tmp_path / "ws" / "profiles" / "codex" / "local--qwen2.5-coder-1.5b" / "latest.json"
    own.parent.mkdir(parents=True)
    own.write_text(bare.read_text())
    assert find_profile("local/qwen2.5-coder-1.5b+codex", workspace) == own


def test_cli_export_and_harness_errors_are_one_line_with_a_hint(tmp_path, capsys):
    from skvm_core.cli import main

    skill = _sample_skill(tmp_path)

    def export(harness: str, into: Path) -> int:
        target = "local/qwen2.5-coder-0.5b"
        return main(
            ["export", "--skill", str(skill), "--target", target, "--harness", harness]
            + ["--into", str(into), "--original"]
        )

    code = export("codex", tmp_path / "missing")
    out = capsys.readouterr()
    assert code == 2 and "is not a folder" in out.err + out.out and "Traceback" not in out.err
    project = tmp_path / "project"
    project.mkdir()
    assert export("opencode", project) == 0
    assert (project / ".opencode" / "skills" / "row-counter" / "SKILL.md").is_file()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--prompt", "x", "--model", "local/qwen2.5-coder-0.5b", "--harness", "cursor"])
    assert exit_.value.code == 2
    assert main(["harness", "list"]) == 0
    assert "opencode-ai" in capsys.readouterr().out


def _shell_call(harness: str, command: str):
    if harness == "opencode":
        return call("bash", command=command, description="run")
    if harness == "claude-code":
        return call("Bash", command=command, description="run")
    if harness == "pi":
        return call("bash", command=command)
    return call("exec_command", cmd=command)


async def _run_scripted(name: str, respond, prompt: str, work: Path, traces: Path, limits=None):
    """One run of harness `name` in `work` against a scripted model, its trace in `traces`."""
    return await get_harness(name).run(
        register_scripted(ScriptedModel(respond)),
        prompt,
        work,
        None,
        limits or RunLimits(timeout_s=240),
        run_id=traces.name,
        trace_path=traces / "trace.jsonl",
    )


def _require_confined(name: str) -> None:
    from skvm_core.agent.sandbox import sandbox_mode

    if not _installed(name):
        pytest.skip(f"the {name} CLI is not installed (make harnesses)")
    if sandbox_mode().kind != "bubblewrap":
        pytest.skip("bubblewrap is not available: the harness runs without our sandbox (README)")


@pytest.mark.parametrize("name", ["opencode", "codex", "claude-code", "pi"])
async def test_harness_commands_cannot_write_outside_the_work_folder(tmp_path, name):
    _require_confined(name)
    outside = tmp_path / "outside.txt"
    work = tmp_path / "work"

    def respond(messages, tools):
        if not tools or any(m.get("role") == "tool" for m in messages):
            return turn(text="done")
        # Python, not a path in the command line: OpenCode itself refuses commands that name
        # outside paths; the sandbox must hold for the ones it does not see.
        write = f"python3 -c \"open('{outside}', 'w')\""
        return turn(_shell_call(name, f"touch inside.txt; {write}"))

    result = await _run_scripted(name, respond, "write files", work, tmp_path / "traces")
    assert result.status == "ok", result.status_detail
    assert (work / "inside.txt").exists() and not outside.exists()


@pytest.mark.parametrize("name", ["opencode", "codex", "claude-code", "pi"])
async def test_every_run_shows_the_model_the_same_prompt_so_its_state_is_reused(tmp_path, name):
    """Both CLIs write the work folder and their home into the system prompt. Confined, they
    see the same paths on every run, so two runs in different folders send the model the
    same first request (what a local model's saved prompt state needs), with no host path.
    Their commands find `python` as our own agent's do."""
    _require_confined(name)
    first_requests: list[str] = []

    def respond(messages, tools):
        if tools and not any(m.get("role") == "tool" for m in messages):
            first_requests.append(json.dumps({"messages": messages, "tools": tools}))
            # `python`, as skills write it, though the system may have only python3.
            return turn(_shell_call(name, "python -c 'print(6 * 7)' > out.txt"))
        return turn(text="done")

    for run in ("one", "two"):
        work = tmp_path / run / "work"
        result = await _run_scripted(name, respond, "make out.txt", work, tmp_path / run)
        assert result.status == "ok", result.status_detail
        assert (work / "out.txt").read_text() == "42\n" and result.work_dir == work.resolve()
    assert len(first_requests) == 2 and first_requests[0] == first_requests[1]
    assert str(tmp_path) not in first_requests[0] and "/workspace" in first_requests[0]


def test_a_recorded_codex_command_run_becomes_a_shell_step_then_the_answer():
    transcript = CodexTranscript("r").feed_all(_recorded("codex-exec-command.jsonl"))
    shell, answer = transcript.steps
    assert shell.tools[0].call.name == "shell" and shell.tools[0].ok
    assert "wc -l < data.csv > count.txt" in shell.tools[0].call.arguments["command"]
    assert shell.tools[0].exit_code == 0  # from item.completed, not the in-progress item
    assert answer.text == transcript.final_text == "The count is in count.txt."
    assert transcript.usage is not None and transcript.usage.output == 17


@pytest.mark.parametrize("name", ["opencode", "codex", "claude-code", "pi"])
async def test_a_harness_run_keeps_our_agents_step_and_loop_limits(tmp_path, name):
    """OpenCode's `run` would go on until the time limit; the server ends the CLI when the
    model repeats one action, or takes more turns than the run allows, as our agent would."""
    if not _installed(name):
        pytest.skip(f"the {name} CLI is not installed (make harnesses)")
    counter = iter(range(1000))

    def looping(messages, tools):
        return turn(_shell_call(name, "echo again >> log.txt")) if tools else turn(text="t")

    def wandering(messages, tools):
        return (
            turn(_shell_call(name, f"echo {next(counter)} >> log.txt")) if tools else turn(text="t")
        )

    for respond, limits, expected in (
        (looping, RunLimits(timeout_s=240, loop_threshold=3), "repeated 3 times"),
        (wandering, RunLimits(timeout_s=240, max_steps=2), "step limit (2)"),
    ):
        work = tmp_path / respond.__name__
        traces = tmp_path / respond.__name__ / "trace"
        result = await _run_scripted(name, respond, "keep going", work, traces, limits)
        assert result.status == "ok" and expected in result.status_detail, result.status_detail
        assert result.extra["model_calls"] <= 4  # the CLI was ended, not left to run on
        assert _processes_with(str(work)) == []


@pytest.mark.parametrize(
    ("name", "file"), [("opencode", "AGENTS.md"), ("claude-code", "CLAUDE.md")]
)
def test_export_always_on_writes_a_marked_section_and_replaces_only_it(tmp_path, name, file):
    from skvm_core.cli import main

    project = tmp_path / "project"
    project.mkdir()
    (project / file).write_text("# House rules\n\nUse tabs.\n")
    argv = [
        "export", "--skill", str(_sample_skill(tmp_path)), "--target", "local/qwen2.5-coder-0.5b",
        "--harness", name, "--into", str(project), "--original", "--always-on",
    ]  # fmt: skip
    assert main(argv) == 0 and main(argv) == 0  # the second export replaces the section
    text = (project / file).read_text()
    assert text.startswith("# House rules\n\nUse tabs.\n")
    assert text.count("<!-- skvm skill row-counter: start -->") == 1
    assert "## Skill: row-counter" in text and "Run `wc -l < FILE > count.txt`." in text
    assert text.rstrip().endswith("<!-- skvm skill row-counter: end -->")


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("echo 1.18.33", "1.18.33"),
        ("echo codex-cli 0.169.0", "0.169.0"),
        ("echo '2.1.332 (Claude Code)'", "2.1.332"),
        ("echo 0.73.1 >&2", "0.73.1"),  # pi prints it on stderr
        ("echo no version here", None),
    ],
)
def test_the_installed_version_is_read_however_the_cli_prints_it(
    tmp_path, monkeypatch, printed, expected
):
    from skvm_core.harness import install

    monkeypatch.setenv("SKVM_HARNESS_DIR", str(tmp_path))
    binary = install.binary_path("pi")
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!/bin/sh\n{printed}\n")
    binary.chmod(0o755)
    assert install.installed_version("pi") == expected
