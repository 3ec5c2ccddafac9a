"""The bare agent loop with the scripted provider: control flow, faults, hooks, traces."""

import asyncio
import json

import pytest

from skvm_core.agent.bare import BareAgent
from skvm_core.agent.hooks import NoHooks
from skvm_core.agent.result import RunLimits
from skvm_core.agent.trace import read_trace, replay
from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.llm.types import LLMResponse
from skvm_core.skill import load_skill
from tests.conftest import SAMPLE_SKILLS
from tests.harness_helpers import call, scripted_run, turn


async def test_tool_calls_run_and_the_final_answer_ends_the_run(tmp_path):
    result, model = await scripted_run(
        tmp_path,
        turn(call("write_file", path="out/a.txt", content="hello")),
        turn(call("read_file", path="out/a.txt")),
        turn(text="all done"),
    )
    assert result.status == "ok" and result.final_text == "all done"
    assert (tmp_path / "out" / "a.txt").read_text() == "hello"
    assert [s.tools[0].call.name for s in result.steps[:2]] == ["write_file", "read_file"]
    assert result.steps[1].tools[0].output == "hello"
    # The model saw the tool result as a real tool message.
    last_request = model.requests[-1]
    assert last_request[-1]["role"] == "tool" and last_request[-1]["content"] == "hello"
    assert result.usage.input > 0 and result.cost_usd == 0.0


async def test_calls_of_one_turn_run_in_order_so_a_read_sees_what_a_command_wrote(tmp_path):
    result, model = await scripted_run(
        tmp_path,
        turn(
            call("execute_command", command="echo first > made.txt"),
            call("read_file", path="made.txt"),
            call("execute_command", command="echo second >> made.txt"),
            call("read_file", path="made.txt"),
        ),
        turn(text="done"),
    )
    outputs = [t.output for t in result.steps[0].tools]
    assert outputs[1].strip() == "first"
    assert outputs[3].split() == ["first", "second"]
    tool_ids = [m["tool_call_id"] for m in model.requests[-1] if m["role"] == "tool"]
    assert tool_ids == [c["id"] for c in model.requests[-1][2]["tool_calls"]]


def test_neighbouring_reads_share_a_batch_and_writes_run_alone():
    from skvm_core.agent.bare import _ordered_batches
    from skvm_core.llm.types import ToolCall

    names = [
        "read_file",
        "list_directory",
        "execute_command",
        "read_file",
        "write_file",
        "read_file",
        "read_file",
    ]
    calls = [ToolCall(id=str(i), name=n) for i, n in enumerate(names)]
    assert _ordered_batches(calls, list(range(len(calls)))) == [[0, 1], [2], [3], [4], [5, 6]]


def test_calls_on_disjoint_paths_share_a_batch_and_a_read_waits_for_the_write_it_reads():
    from skvm_core.agent.bare import _ordered_batches
    from skvm_core.llm.types import ToolCall

    def c(i, name, path):
        return ToolCall(id=str(i), name=name, arguments={"path": path})

    calls = [
        c(0, "write_file", "out/a.txt"),
        c(1, "write_file", "out/b.txt"),
        c(2, "read_file", "in/x.csv"),
        c(3, "read_file", "out/a.txt"),  # reads what call 0 wrote: after it
        c(4, "list_directory", "out"),  # sees call 0's and 1's files: not before them
        c(5, "write_file", "out/c.txt"),  # would change what call 4 lists: after it
    ]
    assert _ordered_batches(calls, list(range(6))) == [[0, 1, 2], [3, 4], [5]]


async def test_writes_of_one_turn_to_different_files_all_land(tmp_path):
    writes = [call("write_file", path=f"out/{n}.txt", content=n) for n in "abcd"]
    result, _ = await scripted_run(
        tmp_path, turn(*writes, call("read_file", path="out/c.txt")), turn(text="done")
    )
    assert [t.ok for t in result.steps[0].tools] == [True] * 5
    assert result.steps[0].tools[4].output == "c"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a.txt",
        "b.txt",
        "c.txt",
        "d.txt",
    ]


async def test_identical_calls_within_one_turn_run_once(tmp_path):
    append = call("execute_command", command="echo line >> log.txt")
    result, model = await scripted_run(
        tmp_path, turn(append, call("read_file", path="log.txt"), append), turn(text="done")
    )
    tools = result.steps[0].tools
    assert len(tools) == 3 and (tmp_path / "log.txt").read_text() == "line\n"
    assert tools[2].output.startswith(f"not run: same as call {tools[0].call.id}")
    # every call still gets an answer, in order, so the conversation stays well formed
    answered = [m["tool_call_id"] for m in model.requests[-1] if m["role"] == "tool"]
    assert answered == [t.call.id for t in tools]


async def test_same_action_three_times_in_a_row_is_stopped(tmp_path):
    same = turn(call("list_directory", path="."))
    result, _ = await scripted_run(tmp_path, same, same, same, turn(text="never reached"))
    assert result.status == "ok" and "repeated 3 times" in result.status_detail
    assert len(result.steps) == 3


async def test_step_limit(tmp_path):
    turns = [turn(call("write_file", path=f"f{i}.txt", content="x")) for i in range(5)]
    result, _ = await scripted_run(
        tmp_path, *turns, limits=RunLimits(max_steps=3, nudge_without_tools=False)
    )
    assert result.status == "ok" and "step limit" in result.status_detail and len(result.steps) == 3


async def test_rate_limit_then_success_keeps_the_run_ok_and_is_traced(tmp_path):
    events: list = []
    model = ScriptedModel([ScriptedTurn(fault="rate_limit"), turn(text="fine")])
    agent = BareAgent(register_scripted(model), subscribers=[events.append])
    from skvm_core.llm.client import CallOptions

    agent.options = CallOptions(backoff_base_s=0.001)
    result = await agent.run("x", tmp_path, limits=RunLimits(nudge_without_tools=False))
    assert result.status == "ok" and result.final_text == "fine"
    retries = [e for e in events if e.type == "error" and e.kind == "retry"]
    assert len(retries) == 1 and "RateLimitError" in retries[0].message
    assert [e for e in events if e.type == "llm_response"][0].retries == 1


async def test_a_call_that_hangs_ends_as_infra_error_not_a_traceback(tmp_path):
    events: list = []
    model = ScriptedModel(
        [turn(call("list_directory")), ScriptedTurn(fault="hang"), ScriptedTurn(fault="hang")]
    )
    agent = BareAgent(register_scripted(model), subscribers=[events.append])
    from skvm_core.llm.client import CallOptions

    agent.options = CallOptions(timeout_s=0.3, max_retries=1, backoff_base_s=0.001)
    result = await agent.run("x", tmp_path, limits=RunLimits(nudge_without_tools=False))
    assert result.status == "infra-error" and "timed out" in result.status_detail
    assert events[-1].type == "run_finished" and events[-1].status == "infra-error"
    assert any(e.type == "error" and e.kind == "infra" for e in events)


async def test_wall_clock_deadline_ends_as_timeout(tmp_path):
    result, _ = await scripted_run(
        tmp_path,
        turn(call("execute_command", command="sleep 30")),
        turn(text="late"),
        limits=RunLimits(timeout_s=1, nudge_without_tools=False),
    )
    assert result.status == "timeout"


async def test_malformed_tool_call_json_is_answered_with_an_error_and_the_run_goes_on(tmp_path):
    events: list = []
    result, model = await scripted_run(
        tmp_path,
        ScriptedTurn(
            tool_calls=[call("write_file", path="a.txt", content="zzzzzzzz")],
            fault="malformed_tool_call",
        ),
        turn(call("write_file", path="a.txt", content="fixed")),
        turn(text="ok"),
        events=events,
    )
    assert result.status == "ok" and (tmp_path / "a.txt").read_text() == "fixed"
    first = result.steps[0].tools[0]
    assert not first.ok and "unreadable arguments" in first.output
    response = [e for e in events if e.type == "llm_response"][0]
    assert "invalid_arguments" in response.format_repairs


async def test_an_exception_inside_a_tool_is_reported_and_the_run_continues(tmp_path, monkeypatch):
    from skvm_core.agent import tools

    async def broken(ctx, args):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(tools.TOOLS, "list_directory", (tools.TOOLS["list_directory"][0], broken))
    events: list = []
    result, _ = await scripted_run(
        tmp_path, turn(call("list_directory")), turn(text="recovered"), events=events
    )
    assert result.status == "ok" and result.final_text == "recovered"
    (tool_result,) = [e for e in events if e.type == "tool_result"]
    assert not tool_result.ok and "disk on fire" in tool_result.error


async def test_unknown_tool_gets_an_error_answer(tmp_path):
    result, _ = await scripted_run(tmp_path, turn(call("teleport", to="mars")), turn(text="ok"))
    assert "unknown tool 'teleport'" in result.steps[0].tools[0].output


async def test_model_error_mid_run_is_a_crashed_run_with_a_reason(tmp_path):
    result, _ = await scripted_run(tmp_path, turn(call("list_directory")))  # runs out of turns
    assert result.status == "crashed" and "no turn left" in result.status_detail


async def test_nudge_once_when_the_model_answers_without_tools(tmp_path):
    result, model = await scripted_run(
        tmp_path,
        turn(text="the answer is 4"),
        turn(call("write_file", path="a.txt", content="4")),
        turn(text="done"),
        limits=RunLimits(),
    )
    assert result.final_text == "done" and (tmp_path / "a.txt").exists()
    assert "Nothing in the work folder" in model.requests[1][-1]["content"]


async def test_reading_alone_is_not_acting(tmp_path):
    (tmp_path / "in.txt").write_text("2 2")
    result, model = await scripted_run(
        tmp_path,
        turn(call("read_file", path="in.txt")),
        turn(text="the sum is 4"),  # describes the result instead of writing it
        turn(call("write_file", path="sum.txt", content="4")),
        turn(text="done"),
        limits=RunLimits(),
    )
    assert (tmp_path / "sum.txt").read_text() == "4" and result.final_text == "done"
    assert "Nothing in the work folder" in model.requests[2][-1]["content"]


async def test_a_repeated_call_is_answered_with_a_note_to_move_on(tmp_path):
    (tmp_path / "in.txt").write_text("data")
    again = turn(call("read_file", path="in.txt"))
    result, model = await scripted_run(tmp_path, again, again, turn(text="done"))
    assert result.final_text == "done"
    last_result = model.requests[-1][-1]["content"]
    assert last_result.startswith("data") and "Do not repeat it" in last_result


class Recorder(NoHooks):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def before_llm(self, step, messages):
        self.calls.append(f"before_llm:{step}")
        if step == 1:  # answer instead of the model, as a solidified template would
            return LLMResponse(model="hook", text="", tool_calls=[call_obj()])
        return None

    async def after_llm(self, step, response):
        self.calls.append(f"after_llm:{step}")

    async def after_tool(self, step, tool_call, outcome):
        self.calls.append(f"after_tool:{step}:{tool_call.name}:{outcome.ok}")

    async def after_run(self, result):
        self.calls.append(f"after_run:{result.status}")


def call_obj():
    from skvm_core.llm.types import ToolCall

    return ToolCall(
        id="h1", name="write_file", arguments={"path": "hooked.txt", "content": "from hook"}
    )


async def test_runtime_hooks_fire_in_order_and_before_llm_can_answer(tmp_path):
    hooks = Recorder()
    events: list = []
    result, model = await scripted_run(tmp_path, turn(text="done"), hooks=hooks, events=events)
    assert (tmp_path / "hooked.txt").read_text() == "from hook"
    assert hooks.calls == [
        "before_llm:1", "after_llm:1", "after_tool:1:write_file:True",
        "before_llm:2", "after_llm:2", "after_run:ok",
    ]  # fmt: skip
    assert model.turns_used == 1  # the model was asked only once
    sources = [e.source for e in events if e.type == "llm_response"]
    assert sources == ["hook", "model"]
    assert any(e.type == "hook" and e.hook == "before_llm" for e in events)


async def test_a_failing_hook_is_traced_and_ignored(tmp_path):
    class Broken(NoHooks):
        async def after_llm(self, step, response):
            raise ValueError("bad hook")

    events: list = []
    result, _ = await scripted_run(tmp_path, turn(text="done"), hooks=Broken(), events=events)
    assert result.status == "ok"
    assert any(e.type == "hook" and "bad hook" in e.detail for e in events)


async def test_trace_file_streams_every_event_and_replays_identically(tmp_path):
    trace = tmp_path / "trace.jsonl"
    live: list = []
    work = tmp_path / "w"
    await scripted_run(
        work,
        turn(call("write_file", path="a", content="b")),
        turn(text="done"),
        trace=trace,
        events=live,
    )
    stored = read_trace(trace)
    assert [e.model_dump() for e in stored] == [e.model_dump() for e in live]
    kinds = [e.type for e in stored]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {"llm_request", "llm_response", "tool_call", "tool_result"} <= set(kinds)
    assert [e.seq for e in stored] == list(range(len(stored)))
    replayed: list = []
    assert replay(trace, replayed.append) == len(stored)


async def test_replay_model_reproduces_a_stored_run(tmp_path):
    trace = tmp_path / "trace.jsonl"
    first, _ = await scripted_run(
        tmp_path / "a",
        turn(call("write_file", path="x.txt", content="42")),
        turn(text="finished"),
        trace=trace,
    )
    agent = BareAgent(f"replay/{trace}")
    second = await agent.run(
        "do the task", tmp_path / "b", limits=RunLimits(nudge_without_tools=False)
    )
    assert second.final_text == first.final_text == "finished"
    assert (tmp_path / "b" / "x.txt").read_text() == "42"


async def test_scripted_file_model_id(tmp_path):
    script = tmp_path / "turns.json"
    script.write_text(
        json.dumps(
            {
                "turns": [
                    {
                        "tool_calls": [
                            {"name": "write_file", "arguments": {"path": "s.txt", "content": "s"}}
                        ]
                    },
                    {"text": "bye"},
                ]
            }
        )
    )
    for attempt in range(2):  # each run starts from the first turn
        work = tmp_path / f"w{attempt}"
        result = await BareAgent(f"scripted/{script}").run(
            "x", work, limits=RunLimits(nudge_without_tools=False)
        )
        assert result.final_text == "bye" and (work / "s.txt").exists()


async def test_skill_inject_and_discover_modes(tmp_path):
    skill = load_skill(SAMPLE_SKILLS / "invoice-batch")
    result, model = await scripted_run(tmp_path / "inject", turn(text="ok"), skill=skill)
    system = model.requests[0][0]["content"]
    assert "# Skill: invoice-batch" in system and "Formula" in system
    assert (tmp_path / "inject" / "scripts" / "invoice_total.py").is_file()
    assert result.skill_loaded is True

    result, model = await scripted_run(
        tmp_path / "discover",
        turn(call("load_skill", name="invoice-batch")),
        turn(text="ok"),
        skill=skill,
        skill_mode="discover",
    )
    system = model.requests[0][0]["content"]
    assert "invoice-batch: Compute totals" in system and "Formula" not in system
    assert "Formula" in result.steps[0].tools[0].output
    assert result.skill_loaded is True


async def test_code_act_discovers_a_skill_by_reading_its_file(tmp_path):
    """code-act offers no tools, so load_skill cannot be its way in: the SKILL.md is laid
    in the work folder, the listing names the command, and reading it counts as the load."""
    skill = load_skill(SAMPLE_SKILLS / "invoice-batch")
    result, model = await scripted_run(
        tmp_path,
        turn(text="Read the skill first.\n```bash\ncat .skills/invoice-batch/SKILL.md\n```"),
        turn(text="DONE read it"),
        skill=skill,
        skill_mode="discover",
        protocol="code-act",
    )
    system = model.requests[0][0]["content"]
    assert "cat .skills/invoice-batch/SKILL.md" in system and "load_skill" not in system
    assert "Formula" not in system and "Formula" in result.steps[0].tools[0].output
    assert result.skill_loaded is True
    # The laid file is the skill's, present before the run, so it counts as no output.
    assert result.files_written == 0


async def test_code_act_that_never_reads_the_skill_file_has_not_loaded_it(tmp_path):
    skill = load_skill(SAMPLE_SKILLS / "invoice-batch")
    result, _ = await scripted_run(
        tmp_path,
        turn(text="Look.\n```bash\nls .skills/invoice-batch\n```"),
        turn(text="DONE"),
        skill=skill,
        skill_mode="discover",
        protocol="code-act",
    )
    assert result.skill_loaded is False


async def test_discover_mode_records_when_the_skill_was_never_loaded(tmp_path):
    skill = load_skill(SAMPLE_SKILLS / "invoice-batch")
    result, _ = await scripted_run(tmp_path, turn(text="ok"), skill=skill, skill_mode="discover")
    assert result.skill_loaded is False


async def test_history_budget_cuts_old_tool_outputs_but_keeps_the_models_code(tmp_path):
    (tmp_path / "big.txt").write_text("line of text\n" * 3000)
    code = "print('my code')\n" * 20
    turns = [turn(call("write_file", path="script.py", content=code))]
    turns += [turn(call("read_file", path="big.txt", offset=1 + i)) for i in range(6)]
    turns += [turn(text="done")]
    events: list = []
    result, model = await scripted_run(
        tmp_path,
        *turns,
        limits=RunLimits(history_token_budget=8000, nudge_without_tools=False),
        events=events,
    )
    last = model.requests[-1]
    assert any(
        "older output truncated" in (m.get("content") or "") for m in last if m["role"] == "tool"
    )
    assert any(
        code in json.dumps(m.get("tool_calls", [])) for m in last if m["role"] == "assistant"
    ) or any(
        "my code" in c["function"]["arguments"]
        for m in last
        if m["role"] == "assistant"
        for c in m.get("tool_calls", [])
    )
    assert any(e.type == "llm_request" and e.truncated_outputs > 0 for e in events)


async def test_cancelling_a_run_still_writes_run_finished(tmp_path):
    events: list = []
    model = ScriptedModel([ScriptedTurn(fault="hang")])
    agent = BareAgent(register_scripted(model), subscribers=[events.append])
    started = asyncio.Event()

    def watch(event):
        if event.type == "llm_request":
            started.set()

    agent.subscribers.append(watch)
    task = asyncio.create_task(agent.run("x", tmp_path))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events[-1].type == "run_finished" and events[-1].detail == "cancelled"


async def test_a_text_answer_right_after_failed_calls_is_sent_back_once(tmp_path):
    failing = turn(call("execute_command", command="cat missing/out.txt"))
    result, model = await scripted_run(
        tmp_path,
        failing,
        turn(text="You need to create the folder first."),  # describes the fix instead
        turn(call("execute_command", command="mkdir -p missing && echo x > missing/out.txt")),
        failing,
        turn(text="It failed again, giving up."),  # no second reminder for this case
        turn(text="never asked"),
        limits=RunLimits(),
    )
    assert result.final_text == "It failed again, giving up."
    assert "all failed" in model.requests[2][-1]["content"]
    reminders = [
        m for m in model.requests[-1] if m["role"] == "user" and "all failed" in m["content"]
    ]
    assert len(reminders) == 1 and (tmp_path / "missing" / "out.txt").read_text() == "x\n"


async def test_a_final_answer_after_a_successful_step_is_not_questioned(tmp_path):
    result, model = await scripted_run(
        tmp_path,
        turn(call("write_file", path="a.txt", content="1")),
        turn(text="done"),
        limits=RunLimits(),
    )
    assert result.final_text == "done" and len(model.requests) == 2


async def test_a_second_reminder_names_the_files_the_task_still_owes(tmp_path):
    (tmp_path / "sales.csv").write_text("a,1\n")
    result, model = await scripted_run(
        tmp_path,
        turn(text="done"),
        turn(call("read_file", path="sales.csv")),
        turn(text="done"),  # still nothing written: told again, with the missing file
        turn(call("write_file", path="report.json", content="{}")),
        turn(text="done"),
        limits=RunLimits(),
        prompt="Summarise sales.csv into report.json.",
    )
    assert (tmp_path / "report.json").exists() and result.final_text == "done"
    first, second = model.requests[1][-1]["content"], model.requests[3][-1]["content"]
    assert "report.json" in first and "sales.csv" not in first  # the input is there
    assert "report.json" in second


async def test_without_a_missing_file_to_name_the_model_is_reminded_once(tmp_path):
    result, model = await scripted_run(
        tmp_path,
        turn(text="4"),
        turn(call("list_directory")),
        turn(text="the answer is 4"),
        limits=RunLimits(),
        prompt="What is 2 + 2?",
    )
    assert result.final_text == "the answer is 4" and len(model.requests) == 3


async def test_a_constrained_reply_cut_at_the_output_limit_is_asked_again_with_more_room(
    tmp_path, monkeypatch
):
    import skvm_core.agent.bare as bare

    monkeypatch.setattr(bare, "grammar_capable", lambda model: True)
    cut = turn(
        text='<tool_call>\n{"name": "write_file", "arguments": {"path": "a.txt", "content": "ab',
        finish_reason="length",
    )
    whole = turn(call("write_file", path="a.txt", content="abc"), native=False)
    result, model = await scripted_run(
        tmp_path, cut, whole, turn(call("finish", answer="done"), native=False),
        protocol="constrained",
        limits=RunLimits(nudge_without_tools=False, max_output_tokens=64),
    )  # fmt: skip
    assert (tmp_path / "a.txt").read_text() == "abc"
    assert result.parse_failures == 0
    assert model.requests[0] == model.requests[1]  # the same request, with more room
