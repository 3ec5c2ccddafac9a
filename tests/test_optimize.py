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
from skvm_core.grading import Checkpoint, EvalResult
from skvm_core.optimize.proposals import Proposal, ProposalStore, Scores
from skvm_core.optimize.repairs import deterministic_repairs
from skvm_core.optimize.rounds import OptimizeOptions, Round, best_round
from skvm_core.profile.runner import store_tcp
from skvm_core.profile.tcp import TCP
from skvm_core.run.evidence import RunEvidence, classify
from skvm_core.run.graders import Score
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


GOOD = "mkdir -p out && python3 total.py numbers.txt > out/total.txt"
# flaw → (what the flawed model does, the phrase of the repair that stops it, the rule)
FLAWS = {
    "prose": (None, "calling the tool `execute_command`", "act-with-calls"),
    "missing_path": (
        "python3 total.py numbers.txt > out/total.txt",
        "mkdir -p out",
        "create-output-folder",
    ),
    "missing_input": ("python3 total.py numbers.csv", "First list the work folder", "check-inputs"),
    "missing_command": ("csvsum numbers.txt", "`csvsum` is not installed", "no-csvsum"),
    "loop": ("python3 total.py numbers.txt", "never run the same command twice", "no-repeats"),
    "step_limit": ("ls", "as few commands", "fewer-steps"),
    "timeout": ("sleep 30", "finish on its own", "finish-on-their-own"),
    "wrong_format": (
        "mkdir -p out && echo 'Total: 3' > out/total.txt",
        "exactly this format",
        "exact-format",
    ),
}


def flawed(flaw: str, skill_text: str):
    """A model with one bad habit, which it drops once the skill says what the repair for
    that habit says; otherwise it does the job (and then answers DONE)."""
    from skvm_core.llm import ScriptedCall, ScriptedTurn

    bad, fixed_by, _ = FLAWS[flaw]
    fixed = fixed_by in skill_text
    acted = {"count": 0}

    def next_turn(messages, tools):
        if messages[-1]["role"] == "tool" and (fixed or flaw not in ("loop", "step_limit")):
            return ScriptedTurn(text="DONE")
        acted["count"] += 1
        if fixed:
            command = GOOD
        elif bad is None:
            return ScriptedTurn(text="I would add the numbers and write the total.")
        elif flaw == "step_limit":
            command = f"ls -{'a' * acted['count']}"  # a new look each time, never the job
        else:
            command = bad
        return ScriptedTurn(
            tool_calls=[ScriptedCall(name="execute_command", arguments={"command": command})]
        )

    return next_turn


async def run_with(tmp_path: Path, flaw: str, text: str, name: str) -> tuple[RunEvidence, bool]:
    from skvm_core.agent.bare import BareAgent
    from skvm_core.llm import ScriptedModel, register_scripted
    from skvm_core.skill import load_skill

    skill_dir = tmp_path / f"skill-{name}"
    skill_dir.mkdir()
    (skill_dir / "SKILL.md").write_text(text)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    (work / "numbers.txt").write_text("1\n2\n")
    (work / "total.py").write_text("import sys\nprint(sum(int(x) for x in open(sys.argv[1])))\n")
    model = register_scripted(ScriptedModel(flawed(flaw, text)))
    limits = RunLimits(nudge_without_tools=False, max_steps=4, timeout_s=3.0)
    result = await BareAgent(model, protocol="native").run(
        "Total numbers.txt into out/total.txt.", work, load_skill(skill_dir), limits
    )
    out = work / "out" / "total.txt"
    written = out.read_text() if out.is_file() else None
    done = written is not None and written.strip() == "3"
    results = []
    if written is not None and not done:
        reason = "not a number: invalid format"
        checkpoint = Checkpoint(name="total", score=0.0, reason=reason)
        results = [EvalResult(criterion="total", method="script", checkpoints=[checkpoint])]
    score = Score(score=float(done), passed=done, results=results)
    return classify("t", result, score, result.files_written, text), done


@pytest.mark.parametrize("flaw", list(FLAWS))
async def test_each_deterministic_repair_fixes_its_failure_on_a_scripted_run(tmp_path, flaw):
    before, done = await run_with(tmp_path, flaw, SKILL, "before")
    assert not done
    expected_kind = {"missing_input": "missing_path"}.get(flaw, flaw)
    assert expected_kind in before.kinds
    repairs = deterministic_repairs(SKILL, [before])
    assert FLAWS[flaw][2] in [r.rule for r in repairs]
    after, done = await run_with(tmp_path, flaw, repairs[-1].text_after, "after")
    assert done, after.kinds


async def test_a_provider_failure_is_classed_as_crashed_not_as_the_skill(tmp_path):
    from skvm_core.llm import ScriptedTurn

    ev = await evidence_of(tmp_path, ScriptedTurn(fault="server_error"))
    assert ev.kinds == ["crashed"]
    assert deterministic_repairs(SKILL, [ev]) == []


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
    from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted
    from skvm_core.run.evidence import read_evidence
    from skvm_core.run.runner import run_task
    from skvm_core.run.task import load_task

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


async def test_the_final_test_chooses_nothing_and_is_reported_beside_the_held_out(tmp_path):
    from skvm_core.llm import ScriptedModel, register_scripted
    from skvm_core.optimize.rounds import (
        OptimizeSession,
        run_optimize,
        split_final,
        split_tasks,
    )

    skill = tmp_path / "totals"
    skill.mkdir()
    (skill / "SKILL.md").write_text(SKILL)
    (skill / "total.py").write_text("import sys\nprint(sum(int(x) for x in open(sys.argv[1])))\n")
    paths = [str(p) for p in make_tasks(tmp_path / "tasks", skill, 6)]

    def follows_the_skill(messages, tools):
        """Creates out/ only when the skill says so; answers once it has acted."""
        if any(m.get("role") == "tool" for m in messages):
            return turn(text="DONE")
        text = " ".join(str(m.get("content")) for m in messages)
        mkdir = "mkdir -p out && " if "mkdir -p" in text else ""
        return turn(
            call("execute_command", command=f"{mkdir}python3 total.py numbers.txt > out/total.txt")
        )

    model = register_scripted(ScriptedModel(follows_the_skill), name="follows-skill")
    workspace = Workspace(tmp_path / "ws")
    store_tcp(TCP(model=model, profiledAt="2026-01-01T00:00:00.000Z", capabilities={}), workspace)
    options = OptimizeOptions(rounds=1, runs=1)
    rest, test = split_final(paths, options.final, options.seed)
    train, held_out = split_tasks(rest, options.held_out, options.seed)
    assert (
        test and not set(test) & set(rest) and split_final(paths, options.final, 0) == (rest, test)
    )
    session = OptimizeSession(
        id="final-split", skill="totals", skill_dir=str(skill), target=model,
        train=train, held_out=held_out, test=test, options=options,
    )  # fmt: skip
    done = await run_optimize(session, workspace, baseline=skill)
    assert done.best == 1 and done.rounds[1].repairs[0].rule == "create-output-folder"
    # Rounds are measured on train and held-out only; the final test ran just twice.
    assert done.rounds[1].held_out.runs == len(held_out)
    assert done.final_base.pass_rate == 0.0 and done.final_best.pass_rate == 1.0
    assert done.final_best.runs == len(test)
    proposal = ProposalStore(workspace).get(done.proposal)
    assert proposal.final_after.pass_rate == 1.0 and proposal.after.pass_rate == 1.0


def test_too_few_tasks_keep_no_final_test():
    from skvm_core.optimize.rounds import split_final

    assert split_final(["a", "b", "c"], 0.25, 0) == (["a", "b", "c"], [])
