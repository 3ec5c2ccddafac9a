"""Adaptive recompilation: failure classes from real (scripted) runs, repairs that fix them,
best-round selection, proposals round-trips and a killed optimize session that resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skvm_core.agent.result import RunLimits
from skvm_core.bench.graders import Score
from skvm_core.grading import Checkpoint, EvalResult
from skvm_core.optimize.evidence import classify
from skvm_core.optimize.proposals import Proposal, ProposalStore, Scores
from skvm_core.optimize.repairs import deterministic_repairs
from skvm_core.optimize.rounds import OptimizeOptions, Round, best_round
from skvm_core.profile.runner import store_tcp
from skvm_core.profile.tcp import TCP
from skvm_core.store.workspace import Workspace
from tests.harness_helpers import call, scripted_run, turn

SKILL = """---
name: totals
description: Total the numbers of a file. Use when asked for totals.
---

# Totals

## Steps

1. Run `python3 total.py numbers.txt > out/total.txt`.
2. Reply DONE.

## Output format

One number on one line.
"""
FAILED = Score(score=0.0, passed=False)


async def evidence_of(tmp_path: Path, *turns, limits: RunLimits | None = None, score=FAILED):
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    result, _ = await scripted_run(work, *turns, limits=limits)
    return classify("t", result, score, result.files_written, SKILL)


async def test_a_missing_program_is_recognised(tmp_path):
    ev = await evidence_of(
        tmp_path, turn(call("execute_command", command="csvlook data.csv")), turn(text="done")
    )
    (failure,) = [f for f in ev.failures if f.kind == "missing_command"]
    assert failure.subject == "csvlook" and failure.step == 1


async def test_a_missing_output_folder_is_recognised_with_the_skill_line(tmp_path):
    ev = await evidence_of(
        tmp_path,
        turn(call("execute_command", command="python3 total.py numbers.txt > out/total.txt")),
        turn(text="done"),
    )
    (failure,) = [f for f in ev.failures if f.kind == "missing_path"]
    assert failure.subject == "out/total.txt" and failure.variant_lines == [10]


async def test_prose_instead_of_action_is_recognised(tmp_path):
    ev = await evidence_of(
        tmp_path, turn(text="You would run python3 total.py and write the total.")
    )
    assert ev.kinds == ["prose"]


async def test_a_loop_and_a_step_limit_are_recognised(tmp_path):
    same = turn(call("execute_command", command="ls"))
    ev = await evidence_of(tmp_path, same, same, same, same)
    assert "loop" in ev.kinds
    ev = await evidence_of(
        tmp_path / "b",
        turn(call("execute_command", command="ls")),
        turn(call("execute_command", command="pwd")),
        limits=RunLimits(max_steps=2, nudge_without_tools=False),
    )
    assert "step_limit" in ev.kinds


async def test_unreadable_replies_are_a_tool_format_failure(tmp_path):
    ev = await evidence_of(
        tmp_path, turn(call("write_file", path="a.txt", content="1")), turn(text="done")
    )
    assert "tool_format" not in ev.kinds  # readable calls are not format failures
    from skvm_core.llm import ScriptedCall, ScriptedTurn

    ev = await evidence_of(
        tmp_path / "b",
        ScriptedTurn(tool_calls=[ScriptedCall(name="execute_command", arguments="{not json")]),
        turn(text="done"),
    )
    assert "tool_format" in ev.kinds


async def test_a_timeout_is_recognised(tmp_path):
    ev = await evidence_of(
        tmp_path,
        turn(call("execute_command", command="sleep 20")),
        limits=RunLimits(timeout_s=1.0, nudge_without_tools=False),
    )
    assert ev.kinds[0] == "timeout"


async def test_grader_failures_split_into_format_and_value(tmp_path):
    def score(reason: str) -> Score:
        return Score(
            score=0.0,
            results=[
                EvalResult(
                    criterion="script#1",
                    method="script",
                    details="0/1 checkpoints passed",
                    checkpoints=[Checkpoint(name="report_json", score=0.0, reason=reason)],
                )
            ],
        )

    wrote = turn(call("write_file", path="out.json", content="{}"))
    ev = await evidence_of(
        tmp_path, wrote, turn(text="done"), score=score("out.json is not valid JSON")
    )
    assert "wrong_format" in ev.kinds
    ev = await evidence_of(tmp_path / "b", wrote, turn(text="done"), score=score("north: 3 != 4"))
    assert "wrong_value" in ev.kinds and "wrong_format" not in ev.kinds


def follows(skill_text: str):
    """A model that does what the skill text tells it and otherwise makes the usual
    mistakes; used to check that a repair's instruction fixes its failure."""
    from skvm_core.llm import ScriptedCall, ScriptedTurn

    def next_turn(messages, tools):
        system = messages[0]["content"]
        acted = [m for m in messages if m["role"] == "tool"]
        if "calling the tool `execute_command`" not in system and not acted:
            return ScriptedTurn(text="I would total the numbers.")  # prose unless told
        if acted:
            return ScriptedTurn(text="DONE")
        command = "python3 total.py numbers.txt > out/total.txt"
        if "mkdir -p out" in system:
            command = "mkdir -p out && " + command
        return ScriptedTurn(
            tool_calls=[ScriptedCall(name="execute_command", arguments={"command": command})]
        )

    return next_turn


@pytest.mark.parametrize("kinds", [["prose"], ["prose", "missing_path"]])
async def test_each_repair_fixes_its_failure_on_a_scripted_run(tmp_path, kinds):
    from skvm_core.llm import ScriptedModel, register_scripted
    from skvm_core.skill import load_skill

    skill_dir = tmp_path / "totals"
    skill_dir.mkdir()
    text = SKILL
    for attempt in range(3):
        (skill_dir / "SKILL.md").write_text(text)
        work = tmp_path / f"work-{attempt}"
        work.mkdir()
        (work / "numbers.txt").write_text("1\n2\n")
        (work / "total.py").write_text(
            "import sys\nprint(sum(int(x) for x in open(sys.argv[1])))\n"
        )
        from skvm_core.agent.bare import BareAgent

        model = register_scripted(ScriptedModel(follows(text)))
        result = await BareAgent(model, protocol="native").run(
            "Total numbers.txt into out/total.txt.",
            work,
            load_skill(skill_dir),
            RunLimits(nudge_without_tools=False),
        )
        done = (work / "out" / "total.txt").is_file()
        score = Score(score=1.0 if done else 0.0, passed=done)
        evidence = classify("t", result, score, result.files_written, text)
        if done:
            break
        repairs = deterministic_repairs(text, [evidence])
        assert repairs, f"no repair for {evidence.kinds}"
        text = repairs[-1].text_after
    assert done, text
    assert "calling the tool `execute_command`" in text and "mkdir -p out" in text


def scores(mean: float, per_task: dict[str, float], tokens: float = 1000.0) -> Scores:
    return Scores(tasks=len(per_task), runs=4, mean=mean, per_task=per_task, tokens_per_run=tokens)


def test_best_round_follows_the_rule():
    options = OptimizeOptions(margin=0.05, max_drop=0.34, token_ratio=0.8)
    base = Round(index=0, variant="", held_out=scores(0.5, {"a": 0.5, "b": 0.5}))
    better = Round(index=1, variant="", held_out=scores(0.75, {"a": 1.0, "b": 0.5}))
    same_better = Round(index=2, variant="", held_out=scores(0.75, {"a": 0.5, "b": 1.0}))
    assert best_round([base, better, same_better], options)[0] == 1  # ties: the earlier round
    dropped = Round(index=1, variant="", held_out=scores(0.9, {"a": 1.0, "b": 0.0}))
    index, reason = best_round([base, dropped], options)
    assert index == 0 and "dropped b" in reason
    cheaper = Round(index=1, variant="", held_out=scores(0.5, {"a": 0.5, "b": 0.5}, tokens=700))
    assert best_round([base, cheaper], options)[0] == 1
    slightly = Round(index=1, variant="", held_out=scores(0.53, {"a": 0.56, "b": 0.5}))
    assert best_round([base, slightly], options)[0] == 0  # inside the margin, not cheaper


def test_accept_reject_and_restore_round_trip(tmp_path):
    store = ProposalStore(Workspace(tmp_path))
    variants = []
    for number in (1, 2):
        folder = tmp_path / f"v{number}"
        folder.mkdir()
        (folder / "SKILL.md").write_text(f"version {number}\n")
        proposal = Proposal(id=f"p{number}", skill="totals", target="m", created=0, source="test")
        variants.append(store.create(proposal, folder))
    assert store.accepted_variant("totals", "m") is None
    assert store.accept("p1") == 1
    assert (store.accepted_variant("totals", "m") / "SKILL.md").read_text() == "version 1\n"
    store.reject("p2")
    assert store.get("p2").status == "rejected"
    with pytest.raises(Exception, match="already rejected"):
        store.accept("p2")
    store.restore("totals", "m", 0)
    assert store.accepted_variant("totals", "m") is None
    store.restore("totals", "m", 1)
    assert (store.accepted_variant("totals", "m") / "SKILL.md").read_text() == "version 1\n"
    with pytest.raises(Exception, match="no accepted version 7"):
        store.restore("totals", "m", 7)


def make_tasks(root: Path, skill: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        folder = root / f"t{index}"
        (folder / "fixtures").mkdir(parents=True)
        (folder / "fixtures" / "numbers.txt").write_text(f"{index}\n1\n")
        (folder / "task.json").write_text(
            json.dumps(
                {
                    "id": f"t{index}",
                    "prompt": "Total numbers.txt into out/total.txt.",
                    "skill": os.path.relpath(skill, folder),
                    "eval": [
                        {
                            "method": "file-check",
                            "path": "out/total.txt",
                            "mode": "exact",
                            "expected": f"{index + 1}\n",
                        }
                    ],
                }
            )
        )
        paths.append(folder)
    return paths


def test_a_killed_optimize_session_resumes_and_proposes(tmp_path):
    skill = tmp_path / "totals"
    skill.mkdir()
    (skill / "SKILL.md").write_text(SKILL)
    (skill / "total.py").write_text("import sys\nprint(sum(int(x) for x in open(sys.argv[1])))\n")
    tasks = make_tasks(tmp_path / "tasks", skill, 3)
    turns = tmp_path / "turns.json"
    # Writes into out/ without creating it: every run fails until the skill says mkdir.
    turns.write_text(
        json.dumps(
            {
                "turns": [
                    {
                        "tool_calls": [
                            {
                                "name": "execute_command",
                                "arguments": {
                                    "command": "python3 total.py numbers.txt > out/total.txt"
                                },
                            }
                        ]
                    },
                    # Answers again after each reminder (failed action, nothing changed).
                    *[{"text": "DONE"}] * 4,
                ]
            }
        )
    )
    model = f"scripted/{turns}"
    workspace = Workspace(tmp_path / "ws")
    store_tcp(
        TCP(
            model=model,
            profiledAt="2026-01-01T00:00:00.000Z",
            capabilities={"gen.code.python": "L3"},
        ),
        workspace,
    )
    env = {**os.environ, "SKVM_HOME": str(workspace.root)}
    skvm = str(Path(sys.executable).parent / "skvm")
    argv = [
        skvm,
        "optimize",
        "--skill",
        str(skill),
        "--target",
        model,
        "--tasks",
        ",".join(map(str, tasks)),
        "--rounds",
        "1",
        "--runs",
        "1",
    ]
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    session_id = None
    for line in child.stdout:
        if line.startswith("optimize session"):
            session_id = line.split()[2].rstrip(":")
        if "round 1:" in line:  # round 0 is on disk; kill it as round 1 starts
            child.kill()
            break
    child.wait()
    assert session_id
    resumed = subprocess.run(
        argv[:2] + ["--resume", session_id], capture_output=True, text=True, env=env
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    session = json.loads((workspace.root / "optimize" / session_id / "session.json").read_text())
    assert session["finished"] and len(session["rounds"]) == 2
    assert session["rounds"][1]["repairs"][0]["rule"] == "create-output-folder"
    # The scripted model ignores the skill, so the repair cannot help: no proposal.
    assert session["best"] == 0 and session["proposal"] is None


async def test_every_failed_run_leaves_its_evidence_beside_its_result(tmp_path):
    from skvm_core.bench.run import run_task
    from skvm_core.bench.task import load_task
    from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
    from skvm_core.optimize.evidence import read_evidence

    skill = tmp_path / "totals"
    skill.mkdir()
    (skill / "SKILL.md").write_text(SKILL)
    (task,) = make_tasks(tmp_path / "tasks", skill, 1)
    talker = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text="You would add the numbers up.")),
        name="optimize-talker",
    )
    outcome = await run_task(load_task(task), talker, workspace=Workspace(tmp_path / "ws"))
    evidence = read_evidence(outcome.run_dir)
    assert evidence is not None and evidence.kinds == ["prose"]
    assert evidence.prompt.startswith("Total numbers.txt")
