"""Action protocols: the constrained grammar, code-act turns, the auto rule, the tool subset,
the worked example, raw model text in the trace, and profiles kept per protocol."""

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skvm_core.agent.protocols import choose_protocol, first_action
from skvm_core.agent.protocols.code_act import python_command
from skvm_core.agent.protocols.constrained import FINISH, ConstrainedProtocol, render_call
from skvm_core.agent.result import RunLimits
from skvm_core.agent.tools import TOOLS
from skvm_core.agent.toolset import select_tools
from skvm_core.llm.grammar import code_act_grammar, tool_call_grammar
from skvm_core.llm.grammar_completion import shortest_completion
from skvm_core.llm.types import LLMResponse
from skvm_core.profile.runner import profile_folder, store_tcp
from skvm_core.profile.store import BUNDLED, find_profile, load_tcp
from skvm_core.profile.tcp import TCP
from skvm_core.store.workspace import Workspace
from tests.conftest import SAMPLE_SKILLS
from tests.harness_helpers import call, scripted_run, turn

SCHEMAS = [schema for schema, _ in TOOLS.values()] + [FINISH]
GRAMMAR = tool_call_grammar([s.openai() for s in SCHEMAS], thought_chars=200)
THOUGHT = st.text(
    alphabet=st.characters(blacklist_characters="<{`\n", blacklist_categories=("Cs",)),
    max_size=100,
).map(lambda t: t.replace("x", "`x"))  # inline backticks are allowed, a fence is not
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


def value_for(schema: dict):
    kind = schema.get("type")
    if kind == "string":
        return ANY_TEXT
    if kind == "integer":
        return st.integers(min_value=-(10**9), max_value=10**9)
    if kind == "number":
        return st.one_of(
            st.integers(min_value=0, max_value=10**6),
            st.floats(min_value=0.001, max_value=1e6, allow_nan=False).map(lambda f: round(f, 3)),
        )
    if kind == "boolean":
        return st.booleans()
    raise AssertionError(kind)


@st.composite
def valid_call(draw):
    schema = draw(st.sampled_from(SCHEMAS))
    properties = schema.parameters.get("properties", {})
    required = set(schema.parameters.get("required", []))
    arguments = {}
    for name, spec in properties.items():  # schema order, as the grammar lays them out
        if name in required or draw(st.booleans()):
            arguments[name] = draw(value_for(spec))
    return schema.name, arguments


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(valid_call(), THOUGHT, st.booleans())
def test_the_grammar_accepts_every_valid_call_of_every_tool(found, thought, newline):
    name, arguments = found
    text = (thought + ("\n" if newline else "")) + render_call(name, arguments)
    assert GRAMMAR.matches(text), text


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_the_grammar_rejects_prose_without_a_call(text):
    assert not GRAMMAR.matches(text)


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>\n{"name": "rm_rf", "arguments": {}}\n</tool_call>',  # no such tool
        '<tool_call>\n{"name": "read_file", "arguments": {}}\n</tool_call>',  # path required
        '<tool_call>\n{"name": "read_file", "arguments": {"path": 3}}\n</tool_call>',
        '<tool_call>\n{"name": "write_file", "arguments": {"path": "a", "content": "x\ny"}}\n</tool_call>',  # raw newline in a string
        'I will read it {"name": "read_file"}<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call>',
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call> and more',
        'one\ntwo\n<tool_call>\n{"name": "finish", "arguments": {"answer": "x"}}\n</tool_call>',
        '```python\nprint(1)\n```<tool_call>\n{"name": "finish", "arguments": {"answer": "x"}}\n</tool_call>',
    ],
)
def test_the_grammar_rejects_malformed_calls(text):
    assert not GRAMMAR.matches(text)


def test_the_gbnf_parses_in_llama_cpp():
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    for grammar in (GRAMMAR, code_act_grammar()):
        llama_grammar.LlamaGrammar.from_string(grammar.gbnf(), verbose=False)


def test_code_act_grammar_takes_one_block_or_done():
    grammar = code_act_grammar()
    assert grammar.matches("Look first.\n```bash\nls -la\n```")
    assert grammar.matches("Run `report.py` on it.\n```bash\npython3 report.py\n```")
    assert grammar.matches("```python\nprint(1)\n```")
    assert grammar.matches("DONE the report is written")
    assert not grammar.matches("```bash\n\n```")  # nothing to run
    assert not grammar.matches("I think the answer is 4.")
    assert not grammar.matches("```bash\nls\n```\n```bash\npwd\n```")  # one block a turn


def test_constrained_reads_the_call_after_the_tag_not_json_in_the_thought():
    text = 'Use {"name": "list_directory"} maybe\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a.csv"}}\n</tool_call>'
    turn_ = ConstrainedProtocol().interpret(LLMResponse(model="m", text=text))
    assert [(c.name, c.arguments) for c in turn_.calls] == [("read_file", {"path": "a.csv"})]
    finish = ConstrainedProtocol().interpret(
        LLMResponse(model="m", text=render_call("finish", {"answer": "42"}))
    )
    assert finish.final == "42" and not finish.calls


async def test_a_constrained_run_sends_the_grammar_and_finish_ends_it(tmp_path):
    events: list = []
    result, model = await scripted_run(
        tmp_path,
        turn(call("write_file", path="out.txt", content="hi"), native=False, text="Write it."),
        turn(call("finish", answer="written"), native=False),
        protocol="constrained",
        events=events,
    )
    assert result.status == "ok" and result.final_text == "written"
    assert (tmp_path / "out.txt").read_text() == "hi"
    assert all(g and "<tool_call>" in g and "finish" in g for g in model.grammars)
    assert result.protocol == "constrained" and result.parse_failures == 0
    started = events[0]
    assert started.protocol == "constrained" and "finish" in started.tools
    # The model's raw text is kept beside the parsed call.
    responses = [e for e in events if e.type == "llm_response"]
    assert "<tool_call>" in responses[0].raw_text and responses[0].text == "Write it."


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(valid_call(), THOUGHT, st.data())
def test_every_prefix_of_a_valid_reply_is_completed_into_a_valid_reply(found, thought, data):
    name, arguments = found
    text = thought + render_call(name, arguments)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    completion = shortest_completion(GRAMMAR, text[:cut])
    assert completion is not None and GRAMMAR.matches(text[:cut] + completion)
    assert shortest_completion(GRAMMAR, text) == ""
    assert shortest_completion(GRAMMAR, text + "x") is None  # nothing may follow the call


def test_the_completion_closes_the_open_string_and_escape_first():
    head = '<tool_call>\n{"name": "write_file", "arguments": {"path": "a.csv", "content": '
    assert shortest_completion(GRAMMAR, head + '"x,y\\n1,2') == '"}}\n</tool_call>'
    # A dangling backslash is finished as an escape before the string closes.
    assert shortest_completion(GRAMMAR, head + '"x\\') == '""}}\n</tool_call>'
    assert shortest_completion(GRAMMAR, "prose {") is None


async def test_a_call_cut_by_the_repetition_guard_is_closed_run_and_flagged(tmp_path):
    events: list = []
    cut = '<tool_call>\n{"name": "write_file", "arguments": {"path": "out.csv", "content": "a,b\\n1,2\\n'
    result, model = await scripted_run(
        tmp_path,
        turn(text="Write it.\n" + cut),  # stopped, not at the output limit: the guard cut it
        turn(call("finish", answer="ok"), native=False),
        protocol="constrained",
        events=events,
    )
    assert result.status == "ok" and result.parse_failures == 0
    assert (tmp_path / "out.csv").read_text() == "a,b\n1,2\n"
    closed = [e for e in events if e.type == "hook" and e.hook == "closed"]
    assert len(closed) == 1 and "repetition guard" in closed[0].detail
    assert "cut after one copy" in json.dumps(model.requests[-1][-1])
    # The trace keeps what the model wrote, uncompleted.
    response = next(e for e in events if e.type == "llm_response")
    assert (response.raw_text or response.text).endswith("1,2\\n")


async def test_a_reply_cut_before_its_tool_is_named_is_not_completed(tmp_path):
    result, _ = await scripted_run(
        tmp_path,
        turn(text='Reading.\n<tool_call>\n{"name": "read_fi'),
        turn(call("finish", answer="ok"), native=False),
        protocol="constrained",
    )
    assert result.parse_failures == 1 and not list(tmp_path.glob("*"))


async def test_a_cut_off_constrained_reply_is_asked_again_and_counted(tmp_path):
    result, model = await scripted_run(
        tmp_path,
        turn(text='Reading.\n<tool_call>\n{"name": "read_file", "argu'),
        turn(call("finish", answer="ok"), native=False),
        protocol="constrained",
    )
    assert result.status == "ok" and result.parse_failures == 1
    assert "could not be run" in model.requests[-1][-1]["content"]


async def test_a_code_act_turn_runs_in_the_sandbox_like_execute_command(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n3,4\n")
    code = "import csv\nrows = list(csv.DictReader(open('data.csv')))\nprint(sum(int(r['b']) for r in rows))\nopen('sum.txt', 'w').write('6\\n')"
    result, model = await scripted_run(
        tmp_path,
        turn(text=f"Sum column b.\n```python\n{code}\n```"),
        turn(text="```bash\ncat sum.txt; echo $HOME\n```"),
        turn(text="DONE the sum is 6"),
        protocol="code-act",
    )
    assert result.status == "ok" and result.final_text == "the sum is 6"
    first, second = result.steps[0].tools[0], result.steps[1].tools[0]
    assert first.call.name == "execute_command" and first.call.arguments[
        "command"
    ] == python_command(code)
    assert first.output.startswith("6") and (tmp_path / "sum.txt").read_text() == "6\n"
    # The same sandbox as execute_command: HOME is the work folder, no host environment.
    assert second.output.splitlines()[:2] == ["6", str(tmp_path.resolve())]
    # The block is the action (held to the code-act grammar where decoding takes one);
    # results come back as observations.
    assert all(g and "```" in g and "tool_call" not in g for g in model.grammars)
    assert model.requests[-1][-1]["content"].startswith("Observation")


async def test_shell_commands_in_a_python_block_run_as_shell(tmp_path):
    (tmp_path / "a.txt").write_text("hello\n")
    result, _ = await scripted_run(
        tmp_path,
        turn(text="```python\ncat a.txt\nmkdir -p out\n```"),
        turn(text="```python\nprint(len('abc'))\n```"),
        turn(text="DONE"),
        protocol="code-act",
    )
    shell, python = result.steps[0].tools[0], result.steps[1].tools[0]
    assert shell.call.arguments["command"] == "cat a.txt\nmkdir -p out"
    assert shell.output.startswith("hello") and (tmp_path / "out").is_dir()
    assert python.output.startswith("3")


def test_only_blocks_that_are_not_python_count_as_shell():
    from skvm_core.agent.protocols.code_act import looks_like_shell

    assert looks_like_shell("python3 scripts/x.py data.csv --out r.json")
    assert not looks_like_shell("print('hi')")
    assert not looks_like_shell("cat = 3\nprint(cat)")  # valid Python stays Python
    assert not looks_like_shell("python3 x.py\nthis is prose")


async def test_prose_under_code_act_gets_one_reminder(tmp_path):
    result, model = await scripted_run(
        tmp_path,
        turn(text="The answer is probably 6."),
        turn(text="```bash\necho 6 > out.txt\n```"),
        turn(text="DONE"),
        protocol="code-act",
        limits=RunLimits(),
    )
    assert (tmp_path / "out.txt").read_text() == "6\n"
    assert "fenced" in model.requests[1][-1]["content"]


@pytest.mark.parametrize(
    ("model", "levels", "expected"),
    [
        ("local/qwen2.5-coder-0.5b", None, "code-act"),
        ("openai/gpt-x", None, "native"),
        (
            "local/m",
            {"gen.code.python": "L2", "tool.call.format": "L1", "tool.exec": "L1"},
            "code-act",
        ),
        (
            "openai/gpt-x",
            {"gen.code.shell": "L3", "tool.call.format": "L2", "tool.exec": "L1"},
            "code-act",
        ),
        (
            "local/m",
            {"tool.call.format": "L3", "tool.exec": "L2", "gen.code.python": "L1"},
            "native",
        ),
        ("local/m", {"tool.call.format": "L3", "tool.exec": "L1"}, "code-act"),
        ("local/m", {"tool.call.format": "L2", "tool.exec": "L2"}, "constrained"),
        ("openai/gpt-x", {"tool.call.format": "L1", "tool.exec": "L1"}, "native"),
    ],
)
def test_auto_follows_its_rule(model, levels, expected):
    decision = choose_protocol(model, levels)
    assert decision.protocol == expected and decision.reason


@pytest.mark.parametrize("name", ["local--qwen2.5-coder-0.5b", "local--qwen2.5-coder-1.5b"])
def test_auto_on_the_committed_local_profiles(name):
    tcp = load_tcp(BUNDLED / "bare-agent" / name / "latest.json")
    assert choose_protocol(tcp.model, dict(tcp.capabilities)).protocol == "code-act"


def test_the_web_tool_is_offered_only_where_the_web_is_used():
    plain = select_tools("Read data.csv and write report.json.", "Count the rows in data.csv.")
    assert "web_fetch" not in plain.names and "no web_fetch" in plain.reason
    loopback = ("127.0.0.1",)
    assert "web_fetch" in select_tools(None, "Fetch http://127.0.0.1:8000/items", loopback).names
    assert "web_fetch" not in select_tools(None, "Fetch http://127.0.0.1:8000/items").names
    assert "web_fetch" in select_tools(None, "Count it.", ("api.example.org",)).names


def test_the_worked_example_comes_from_the_skill_or_task(tmp_path):
    (tmp_path / "sales.csv").write_text("x\n")
    skill = "# S\n\nRun it:\n\n```bash\npython3 scripts/report.py sales.csv --out r.json\n```\n"
    from_skill = first_action(skill, "Summarise sales.csv", tmp_path)
    assert from_skill.tool == "execute_command"
    assert from_skill.arguments == {"command": "python3 scripts/report.py sales.csv --out r.json"}
    from_task = first_action("Use the csv module.", "Summarise sales.csv into r.json", tmp_path)
    assert (from_task.tool, from_task.arguments) == ("read_file", {"path": "sales.csv"})
    assert first_action(None, "Say hi", tmp_path).tool == "list_directory"


async def test_the_example_is_in_the_prompt_and_counted(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    events: list = []
    _, model = await scripted_run(
        tmp_path, turn(text="done"), protocol="constrained", events=events, prompt="Read notes.txt"
    )
    system = model.requests[0][0]["content"]
    assert render_call("read_file", {"path": "notes.txt"}) in system
    assert events[0].example["tokens"] > 0 and events[0].example["tool"] == "read_file"


def test_profiles_are_kept_per_protocol(tmp_path):
    workspace = Workspace(tmp_path)
    native = TCP(
        model="local/m", profiledAt="2026-01-01T00:00:00.000Z", capabilities={"tool.exec": "L1"}
    )
    constrained = TCP(
        model="local/m",
        profiledAt="2026-01-02T00:00:00.000Z",
        capabilities={"tool.exec": "L3"},
        protocol="constrained",
    )
    store_tcp(native, workspace)
    store_tcp(constrained, workspace)
    root = workspace.root / "profiles"
    assert (profile_folder(root, "bare-agent", "local/m", "constrained") / "latest.json").is_file()
    found = find_profile("local/m", workspace, protocol="constrained")
    assert load_tcp(found).capabilities["tool.exec"] == "L3"
    assert load_tcp(find_profile("local/m", workspace)).capabilities["tool.exec"] == "L1"
    # Not measured under code-act: the native profile stands in.
    assert find_profile("local/m", workspace, protocol="code-act") == find_profile(
        "local/m", workspace
    )
    assert json.loads(found.read_text())["protocol"] == "constrained"


def test_string_helpers_cover_printable_ascii():
    # Every printable character survives a trip through a constrained call's JSON string.
    text = render_call("write_file", {"path": "a", "content": string.printable})
    assert GRAMMAR.matches(text)


async def test_done_inside_a_block_ends_the_run_instead_of_running(tmp_path):
    result, _ = await scripted_run(
        tmp_path,
        turn(text="```bash\necho 1 > one.txt\n```"),
        turn(text="Finished.\n```bash\nDONE\nall written\n```"),
        protocol="code-act",
    )
    assert result.final_text == "all written" and len(result.steps) == 2


async def test_reading_with_a_command_is_not_acting_either(tmp_path):
    (tmp_path / "in.csv").write_text("a\n1\n")
    result, model = await scripted_run(
        tmp_path,
        turn(text="```bash\ncat in.csv\n```"),
        turn(text="DONE the total is 1"),  # nothing written: reminded once
        turn(text="```bash\necho 1 > total.txt\n```"),
        turn(text="DONE"),
        protocol="code-act",
        limits=RunLimits(),
    )
    assert (tmp_path / "total.txt").read_text() == "1\n"
    assert "Nothing in the work folder" in model.requests[2][-1]["content"]


@pytest.mark.parametrize("protocol", ["constrained", "code-act"])
async def test_after_a_reminder_the_grammar_leaves_no_way_to_finish(tmp_path, protocol):
    finish = (
        turn(call("finish", answer="done"), native=False)
        if protocol == "constrained"
        else turn(text="DONE")
    )
    act = (
        turn(call("write_file", path="a.txt", content="1"), native=False)
        if protocol == "constrained"
        else turn(text="```bash\necho 1 > a.txt\n```")
    )
    _, model = await scripted_run(
        tmp_path, finish, act, finish, protocol=protocol, limits=RunLimits()
    )
    first, forced, last = model.grammars
    finishing = "args-finish" if protocol == "constrained" else '"DONE"'
    assert finishing in first and finishing not in forced and finishing in last


def test_a_bench_compiles_against_the_profile_of_the_protocol_it_runs_under(tmp_path):
    from skvm_core.profile.store import profile_for_protocol

    workspace = Workspace(tmp_path)
    native = TCP(
        model="local/m", profiledAt="2026-01-01T00:00:00.000Z", capabilities={"tool.exec": "L1"}
    )
    store_tcp(native, workspace)
    # auto picks code-act for this profile; none measured under it yet: the native stands in
    assert profile_for_protocol("local/m", "auto", workspace).protocol == "native"
    code_act = TCP(
        model="local/m",
        profiledAt="2026-01-02T00:00:00.000Z",
        capabilities={"tool.exec": "L3"},
        protocol="code-act",
    )
    store_tcp(code_act, workspace)
    assert profile_for_protocol("local/m", "auto", workspace).capabilities["tool.exec"] == "L3"
    assert profile_for_protocol("local/m", "native", workspace).capabilities["tool.exec"] == "L1"


async def test_constrained_on_a_model_without_a_grammar_is_a_clear_error(tmp_path):
    from skvm_core.agent.bare import BareAgent
    from skvm_core.errors import SkvmError

    with pytest.raises(SkvmError, match="constrained protocol needs"):
        await BareAgent("openai/gpt-x", protocol="constrained").run("hi", tmp_path)


async def test_files_written_counts_the_runs_output_not_the_skills_own_files(tmp_path):
    from skvm_core.skill import load_skill

    skill = load_skill(SAMPLE_SKILLS / "csv-report")  # ships scripts/, laid out by the harness
    result, _ = await scripted_run(
        tmp_path,
        turn(call("write_file", path="report.json", content="{}")),
        turn(text="done"),
        skill=skill,
    )
    assert (tmp_path / "scripts").is_dir() and result.files_written == 1


def _echo_turns(protocol: str, count: int):
    """The recorded shape: the last output pasted back as the next action, one line longer
    each time (the error of running the previous paste)."""
    lines = ["cat: notes.txt: No such file or directory"]
    turns = [
        turn(text="```bash\ncat notes.txt\n```")
        if protocol == "code-act"
        else turn(call("execute_command", command="cat notes.txt"))
    ]
    for index in range(count):
        lines.append(f"bash: line {index + 1}: cat:: command not found")
        pasted = "Observation (output of your code):\n" + "\n".join(lines)
        turns.append(
            turn(text=f"```bash\n{pasted}\n```")
            if protocol == "code-act"
            else turn(call("execute_command", command=pasted))
        )
    return turns


@pytest.mark.parametrize("protocol", ["code-act", "constrained"])
async def test_an_echoed_observation_is_not_run_and_ends_as_a_loop(tmp_path, protocol):
    events: list = []
    result, model = await scripted_run(
        tmp_path,
        *_echo_turns(protocol, 12),
        protocol=protocol,
        events=events,
        limits=RunLimits(max_steps=12, nudge_without_tools=False),
    )
    ran = [t.call.arguments["command"] for s in result.steps for t in s.tools]
    assert ran == ["cat notes.txt"]  # no pasted output was ever run as a command
    assert "repeated" in result.status_detail and len(model.requests) < 12
    assert sum(1 for e in events if getattr(e, "hook", None) == "echo") == 1
    assert any("repeated the output" in str(m.get("content")) for m in model.requests[-1])


async def test_writing_different_files_is_not_a_near_repeat(tmp_path):
    turns = [turn(call("write_file", path=f"part-{i}.txt", content="x")) for i in range(5)]
    result, _ = await scripted_run(
        tmp_path, *turns, turn(text="done"), limits=RunLimits(nudge_without_tools=False)
    )
    assert all((tmp_path / f"part-{i}.txt").exists() for i in range(5))
    assert "repeated" not in result.status_detail
