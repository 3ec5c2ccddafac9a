"""Malformed input never ends in a traceback: every sub-command, given hostile arguments and
malformed files of every format it reads, either runs or says what is wrong (exit 1 or 2)."""

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skvm_core.cli import build_parser, main

# Commands that start a server, a terminal UI or an npm install wait or reach out by design.
SKIPPED = {("serve",), ("workbench",), ("harness", "install")}


def _commands(parser: argparse.ArgumentParser, prefix=()):
    """(command path, its parser) for every leaf sub-command."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield prefix, parser
        return
    for name, sub in subparsers[0].choices.items():
        yield from _commands(sub, (*prefix, name))


COMMANDS = [(path, p) for path, p in _commands(build_parser()) if path and path not in SKIPPED]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Malformed files of every format the CLI reads, and values that are not what they seem."""
    root = tmp_path_factory.mktemp("hostile")
    files = {
        "broken.json": "{not json",
        "list.json": "[1, 2, 3]",
        "wrong-types.json": json.dumps({"id": 3, "prompt": ["x"], "eval": "all", "model": None}),
        "task.json": json.dumps({"id": "../x", "prompt": "p", "eval": [{"method": "nope"}]}),
        "empty.txt": "",
        "binary.bin": "\x00\xff\xfe garbage",
        "skvm.toml": "executor = [1,\n",
        "trace.jsonl": '{"type": "tool_result"}\nnot json\n{"type": 5}\n',
    }
    for name, text in files.items():
        (root / name).write_text(text, errors="surrogateescape")
    skill = root / "bad-skill"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: [unclosed\ndescription: 3\n---\nbody\n")
    tasks = root / "tasks" / "t1"
    tasks.mkdir(parents=True)
    (tasks / "task.json").write_text('{"id": "t1", "prompt": 5}')
    values = [str(root / name) for name in files] + [
        str(skill), str(root / "tasks"), str(root / "missing"), str(root),
        "", "-1", "0", "1e309", "nan", "../../..", "/etc", "nope/model", "local/nope",
        "x" * 300, "\u202e\u0000", "a,b,,", "compiled:nope@weird+bare",
    ]  # fmt: skip
    return values


def _argv(path, parser, draw_values, draw_flags):
    argv = list(path)
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    for action in draw_flags(options):
        flag = action.option_strings[-1]
        if action.nargs == 0:
            argv.append(flag)
        else:
            argv += [flag, draw_values()]
    positionals = [a for a in parser._actions if not a.option_strings and a.dest != "help"]
    for action in positionals:
        if not isinstance(action, argparse._SubParsersAction):
            argv.append(draw_values())
    return argv


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_sub_command_ends_in_a_traceback_on_malformed_input(
    data, hostile, tmp_path, monkeypatch
):
    monkeypatch.setenv("SKVM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    path, parser = data.draw(st.sampled_from(COMMANDS), label="command")
    argv = _argv(
        path,
        parser,
        lambda: data.draw(st.sampled_from(hostile)),
        lambda options: (
            data.draw(st.lists(st.sampled_from(options), unique=True, max_size=4))
            if options
            else []
        ),
    )
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    assert code in (0, 1, 2, 130), (argv, code)
    assert "Traceback" not in out.getvalue() + err.getvalue(), argv
