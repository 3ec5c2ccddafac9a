"""Data-level fan-out at run time: one sub-run per item, retried once, merged at the end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from skvm_core.agent.trace import read_trace
from skvm_core.errors import SkvmError
from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.llm.scripted import ScriptedCall
from skvm_core.run.fanout import find_items, parse_parallel, plan_fanout
from skvm_core.run.merge import MergeConflict, merge_files
from skvm_core.run.runner import run_task
from skvm_core.run.task import load_task
from skvm_core.skill import load_skill
from skvm_core.store.workspace import Workspace

SKILL = """---
name: word-tally
description: Tally the words of text files into one report. Use when asked to count words per file.
---

# Word tally

## Steps

1. List the files in the folder the request names.
2. For each file, count its words and append a line `NAME WORDS` to `tally.txt`.
3. Check that tally.txt has one line per file.
"""

NOTES = {"alpha.txt": "one two", "beta.txt": "a b c", "gamma.txt": "x", "delta.txt": "p q r s"}


@pytest.fixture
def task_dir(tmp_path) -> Path:
    skill = tmp_path / "word-tally"
    skill.mkdir()
    (skill / "SKILL.md").write_text(SKILL)
    task = tmp_path / "task"
    (task / "fixtures" / "notes").mkdir(parents=True)
    for name, text in NOTES.items():
        (task / "fixtures" / "notes" / name).write_text(text + "\n")
    spec = {
        "id": "tally-notes",
        "prompt": "Count the words of every file in notes/ into tally.txt.",
        "skill": "../word-tally",
        "eval": [{"method": "file-check", "path": "tally.txt", "mode": "regex", "expected": "txt"}],
        "maxSteps": 12,
    }
    (task / "task.json").write_text(json.dumps(spec))
    return task


def _outputs(messages) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "tool"]


def item_policy(skip: str = "", command: str = ""):
    """A target that lists notes/, then tallies one listed file per turn; it never writes for
    `skip`, and runs `command` (if given) before its first tally."""

    def respond(messages, tools):
        outputs = _outputs(messages)
        if not outputs:
            return ScriptedTurn(
                tool_calls=[ScriptedCall(name="execute_command", arguments={"command": "ls notes"})]
            )
        listed = [n for n in outputs[0].split() if n.endswith(".txt")]
        done = len(outputs) - 1 - (1 if command else 0)
        if command and len(outputs) == 1:
            return ScriptedTurn(
                tool_calls=[ScriptedCall(name="execute_command", arguments={"command": command})]
            )
        todo = [n for n in listed if n != skip]
        if done < len(todo):
            name = todo[done]
            line = f'echo "{name} $(wc -w < notes/{name})" >> tally.txt'
            return ScriptedTurn(
                tool_calls=[ScriptedCall(name="execute_command", arguments={"command": line})]
            )
        return ScriptedTurn(text="done")

    return ScriptedModel(respond)


async def _run(task_dir: Path, model: str, parallel, workspace: Workspace, **kwargs):
    return await run_task(
        load_task(task_dir), model, workspace=workspace, keep=True, parallel=parallel, **kwargs
    )


async def test_fan_out_gives_the_serial_runs_output_with_one_sub_run_per_item(task_dir, tmp_path):
    workspace = Workspace(tmp_path / "ws")
    model = register_scripted(item_policy())
    serial = await _run(task_dir, model, "off", workspace)
    fanned = await _run(task_dir, model, 4, workspace)
    expected = (serial.run.work_dir / "tally.txt").read_text()
    assert sorted(expected.split("\n")[:-1]) == sorted(
        f"{name} {len(text.split())}" for name, text in NOTES.items()
    )
    assert (fanned.run.work_dir / "tally.txt").read_text() == expected  # merged in item order
    assert fanned.score.passed and fanned.run.status == "ok" and fanned.run.protocol == "fan-out"
    events = read_trace(fanned.run_dir / "trace.jsonl")
    [fan] = [e for e in events if e.type == "fan_out"]
    assert fan.items == [f"notes/{n}" for n in sorted(NOTES)] and fan.limit == 4
    subs = [e for e in events if e.type == "sub_run"]
    assert len(subs) == 4 and all(s.status == "ok" and s.files == ["tally.txt"] for s in subs)
    # Each sub-run saw only its own item: one listing entry, one tally turn, one answer.
    assert all(s.steps == 3 for s in subs)
    assert all(Path(s.trace).is_file() for s in subs)


async def test_a_failing_item_is_retried_once_then_reported_and_the_rest_merged(task_dir, tmp_path):
    workspace = Workspace(tmp_path / "ws")
    model = register_scripted(item_policy(skip="beta.txt"))
    outcome = await _run(task_dir, model, 4, workspace)
    tally = (outcome.run.work_dir / "tally.txt").read_text()
    assert "beta.txt" not in tally and tally.count("\n") == 3
    assert "failed after a retry: notes/beta.txt" in outcome.run.status_detail
    subs = [e for e in read_trace(outcome.run_dir / "trace.jsonl") if e.type == "sub_run"]
    beta = [s for s in subs if s.item == "notes/beta.txt"]
    assert [s.attempt for s in beta] == [1, 2] and all(s.status == "wrote nothing" for s in beta)


async def test_auto_fans_out_only_when_the_target_does_not_batch(task_dir, tmp_path):
    skill = load_skill(tmp_path / "word-tally")
    work = tmp_path / "w"
    (work / "notes").mkdir(parents=True)
    for name in NOTES:
        (work / "notes" / name).write_text("x")
    prompt = "Count the words of every file in notes/."
    plan = plan_fanout(skill, prompt, work, "auto", model="api/x", capabilities={})
    assert plan is not None and plan.limit == 4 and plan.merge == "concatenate"  # one per item
    assert "unmeasured" in plan.reason
    batching = {"tool.call.batch": "L2"}
    assert plan_fanout(skill, prompt, work, "auto", model="api/x", capabilities=batching) is None
    assert plan_fanout(skill, prompt, work, 2, model="api/x", capabilities=batching).limit == 2
    assert plan_fanout(skill, prompt, work, "off", model="api/x") is None
    # An in-process model stays serial under auto (it decodes one sequence at a time).
    assert plan_fanout(skill, prompt, work, "auto", model="local/m", capabilities={}) is None
    assert plan_fanout(skill, prompt, work, 2, model="local/m").limit == 2
    asked = find_items("for each file in it", "How long is each file in notes/?", work)
    assert asked is not None and asked[0] == "notes"  # a folder named at a question mark
    (work / "notes" / "gamma.txt").unlink()
    (work / "notes" / "delta.txt").unlink()
    assert find_items("for each file", prompt, work) is None  # two items: not worth a split


def test_parallel_values_and_a_clear_error():
    assert parse_parallel("auto") == "auto" and parse_parallel("OFF") == "off"
    assert parse_parallel("3") == 3 and parse_parallel(None) == "auto"
    with pytest.raises(SkvmError, match="not a choice"):
        parse_parallel("many")
    with pytest.raises(SkvmError):
        parse_parallel(0)


def test_merging_by_kind():
    csv = merge_files("o.csv", [b"id,n\na,1\n", b"id,n\nb,2\n"])
    assert csv == b"id,n\na,1\nb,2\n"
    as_list = json.loads(merge_files("o.json", [b"[1]", b"[2, 3]"]))
    assert as_list == [1, 2, 3]
    joined = json.loads(merge_files("o.json", [b'{"a": {"x": 1}}', b'{"a": {"y": 2}}']))
    assert joined == {"a": {"x": 1, "y": 2}}
    summed = json.loads(merge_files("o.json", [b'{"total": 1.5}', b'{"total": 2}'], "sum"))
    assert summed == {"total": 3.5}
    with pytest.raises(MergeConflict, match="disagree"):
        merge_files("o.json", [b'{"total": 1}', b'{"total": 2}'])
    with pytest.raises(MergeConflict):  # one per item is not one in all
        merge_files("o.json", [b'{"files": 1}', b'{"files": 1}'])
    assert json.loads(
        merge_files("o.json", [b'{"unit": "kg", "a": 1}', b'{"unit": "kg", "b": 2}'])
    ) == {"unit": "kg", "a": 1, "b": 2}
    with pytest.raises(MergeConflict, match="headers"):
        merge_files("o.csv", [b"a\n1\n", b"b\n2\n"])


async def test_outputs_that_do_not_merge_fall_back_to_the_task_run_whole(task_dir, tmp_path):
    workspace = Workspace(tmp_path / "ws")

    def respond(messages, tools):  # every item writes the same key with its own value
        outputs = _outputs(messages)
        if not outputs:
            return ScriptedTurn(
                tool_calls=[
                    ScriptedCall(
                        name="execute_command",
                        arguments={
                            "command": 'ls notes | wc -l > n.txt; echo \\{\\"files\\": $(cat n.txt)\\} > count.json; rm n.txt'
                        },
                    )
                ]
            )
        return ScriptedTurn(text="done")

    outcome = await _run(task_dir, register_scripted(ScriptedModel(respond)), 4, workspace)
    assert outcome.run.protocol != "fan-out"  # the whole run, after the fan-out's conflict
    assert json.loads((outcome.run.work_dir / "count.json").read_text()) == {"files": 4}
    kept = read_trace(outcome.run_dir / "fanout-trace.jsonl")
    assert any(e.type == "hook" and "not merged" in e.detail for e in kept)


async def test_cancelling_a_fan_out_leaves_no_process_and_no_merged_file(task_dir, tmp_path):
    workspace = Workspace(tmp_path / "ws")
    marker = uuid.uuid4().hex
    model = register_scripted(item_policy(command=f"sleep 30 # {marker}"))
    started = asyncio.Event()

    def watch(event):
        if event.type == "tool_call" and marker in json.dumps(event.arguments):
            started.set()

    running = asyncio.ensure_future(_run(task_dir, model, 4, workspace, subscribers=[watch]))
    await asyncio.wait_for(started.wait(), timeout=30)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    left = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    assert left.strip() == ""
    [run_dir] = (workspace.root / "runs").iterdir()
    assert not (run_dir / "work" / "tally.txt").exists()
    assert sorted(p.name for p in (run_dir / "work" / "notes").iterdir()) == sorted(NOTES)


async def test_the_workbench_trace_pane_shows_sub_runs_nested_under_their_run(task_dir, tmp_path):
    from textual.app import App

    from skvm_tui.widgets.trace_pane import TracePane

    class Pane(App):
        def compose(self):
            yield TracePane()

    app = Pane()
    async with app.run_test() as pilot:
        pane = app.query_one(TracePane)
        model = register_scripted(item_policy())
        outcome = await _run(task_dir, model, 2, Workspace(tmp_path / "ws"), subscribers=[pane.add])
        pane.flush(everything=True)
        await pilot.pause()
        parent = pane.runs[outcome.run.run_id]
        labels = [str(child.label) for child in parent.children]
        assert any(label.startswith("⑂ fan-out: 4 items in notes/") for label in labels)
        assert sum(label.startswith("⑂ notes/") for label in labels) == 4
        nested = [child for child in parent.children if str(child.label).startswith("▶ ")]
        assert len(nested) == 4  # one node per sub-run, under the parent, not beside it
        assert all(
            pane.runs[run_id].parent is parent
            for run_id in pane.runs
            if run_id != outcome.run.run_id
        )
        top = [str(node.label) for node in app.query_one("Tree").root.children]
        assert len(top) == 1
