"""Solidification: templates from passing runs, safe parameters, shadow trials, promotion,
demotion and fallback, durable state, the solidified bench condition and `skvm jit`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from skvm_core.bench.orchestrator import Bench, BenchPlan
from skvm_core.bench.report import build_report, to_markdown
from skvm_core.bench.sessions import expected_runs
from skvm_core.errors import SkvmError
from skvm_core.jit import JitStore, Param, Step, Template, TemplateRecord
from skvm_core.jit.bind import bind, bind_by_rules
from skvm_core.jit.execute import run_template
from skvm_core.jit.harvest import PassingRun, generalise, merge
from skvm_core.jit.runtime import run_solidified
from skvm_core.jit.substitute import Slot, substitute_shell
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.run.task import load_task
from skvm_core.skill import load_skill
from skvm_core.store.workspace import Workspace

NASTY = "x; rm -rf victim $(touch pwned) `touch pwned2`\nrm -rf victim ' \" \\ $HOME"
SKILL_MD = """---
name: shout
description: Make an upper- or lower-case copy of a text file. Use when asked to change the case of a file.
---

# Shout

Copy the file with its letters changed: `tr a-z A-Z < in.txt > out.txt`.
"""
PROMPT = "Make an upper-case copy of {src} named {dst}."
LOWER_PROMPT = "Make a lower-case copy of {src} named {dst}."


def make_skill(root: Path) -> Path:
    folder = root / "shout"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD)
    return folder


def make_task(root: Path, skill: Path, index: int, *, lower: bool = False) -> Path:
    src, dst = f"notes-{index}.txt", f"loud-{index}.txt"
    text = f"Hello World number {index}\n"
    expected = text.lower() if lower else text.upper()
    folder = root / f"shout-{index}{'-lower' if lower else ''}"
    (folder / "fixtures").mkdir(parents=True)
    (folder / "fixtures" / src).write_text(text)
    task = {
        "id": folder.name,
        "prompt": (LOWER_PROMPT if lower else PROMPT).format(src=src, dst=dst),
        "skill": os.path.relpath(skill, folder),
        "timeoutMs": 60000,
        "eval": [{"method": "file-check", "path": dst, "mode": "exact", "expected": expected}],
    }
    (folder / "task.json").write_text(json.dumps(task))
    return folder


def agent_turn(messages, tools):
    """A model that does the job right: reads the file names from the task."""
    if messages[-1]["role"] == "tool":
        return ScriptedTurn(text="done")
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    src, dst = re.findall(r"[\w-]+\.txt", prompt)
    case = "A-Z a-z" if "lower-case" in prompt else "a-z A-Z"
    return ScriptedTurn(
        tool_calls=[
            ScriptedCall(name="execute_command", arguments={"command": "ls"}),
            ScriptedCall(
                name="execute_command", arguments={"command": f"tr {case} < {src} > {dst}"}
            ),
        ]
    )


@pytest.fixture
def setup(tmp_path):
    skill = make_skill(tmp_path)
    tasks = [make_task(tmp_path / "tasks", skill, i) for i in range(1, 6)]
    model = register_scripted(ScriptedModel(agent_turn), name="jit-agent")
    return tmp_path, load_skill(skill), tasks, model


def test_a_parameter_with_shell_metacharacters_is_passed_literally(tmp_path):
    work = tmp_path / "work"
    (work / "victim").mkdir(parents=True)
    (work / "victim" / "keep").write_text("still here")
    slot = Slot("hello", "SKVM_P_TEXT_1", embeddable=False)
    shell, _ = substitute_shell("printf '%s' 'hello' > out.txt", [slot])
    python, _ = substitute_shell(
        "python3 - <<'EOF'\nopen('out2.txt', 'w').write('hello')\nEOF", [slot]
    )
    template = Template(
        skill="shout",
        steps=[Step(kind="command", text=shell), Step(kind="command", text=python)],
        params=[Param(name="text_1", kind="text")],
        source="traces",
    )
    import asyncio

    run = asyncio.run(run_template(template, {"text_1": NASTY}, work, None))
    assert run.ok, run.reason
    assert (work / "out.txt").read_text() == NASTY
    assert (work / "out2.txt").read_text() == NASTY
    assert (work / "victim" / "keep").read_text() == "still here"
    assert not (work / "pwned").exists() and not (work / "pwned2").exists()


def test_two_passing_runs_align_into_one_template_whose_values_bind_by_rules(setup, tmp_path):
    _, skill, tasks, _ = setup
    runs = []
    for index, folder in enumerate(tasks[:2]):
        task = load_task(folder)
        turn = agent_turn([{"role": "user", "content": task.prompt}], [])
        from skvm_core.agent.result import AgentStep, ToolStep
        from skvm_core.llm.types import ToolCall

        steps = [
            AgentStep(
                index=0,
                tools=[
                    ToolStep(
                        call=ToolCall(id=str(i), name=c.name, arguments=c.arguments),
                        output="",
                        ok=True,
                        exit_code=0,
                    )
                    for i, c in enumerate(turn.tool_calls)
                ],
            )
        ]
        runs.append(PassingRun(f"run-{index}", "shout", task.prompt, steps))
    templates = merge([generalise(run, skill) for run in runs])
    assert len(templates) == 1
    template = templates[0]
    assert len(template.origins) == 2
    assert [s.text for s in template.steps] == [
        'tr a-z A-Z < "${SKVM_P_INPUT_FILE_1}" > "${SKVM_P_OUTPUT_FILE_1}"'
    ]  # the `ls` only looked
    third = load_task(tasks[2])
    work = tmp_path / "third"
    from skvm_core.run.runner import prepare_work_dir

    prepare_work_dir(third, work)
    binding = bind_by_rules(template, third.prompt, work)
    assert binding.values == {"input_file_1": "notes-3.txt", "output_file_1": "loud-3.txt"}
    assert all(rule != "model" for rule in binding.by.values())


async def test_a_template_that_exits_0_with_a_wrong_output_is_never_promoted(setup):
    root, skill, tasks, model = setup
    workspace = Workspace(root / "ws")
    wrong = Template(
        skill="shout",
        steps=[Step(kind="command", text='cp "${SKVM_P_IN}" "${SKVM_P_OUT}"')],
        params=[
            Param(name="in", kind="input_file", locators=["folder:.txt"]),
            Param(name="out", kind="output_file", locators=["new:.txt"]),
        ],
        source="llm",
    )
    # A model that never passes: no run of its can teach a better template meanwhile.
    idle = register_scripted(ScriptedModel(lambda m, t: ScriptedTurn(text="done")), name="idle")
    with JitStore(workspace).update("shout", idle) as state:
        state.templates[wrong.id] = TemplateRecord(template=wrong)
        state.compiler_harvested = True
    for folder in tasks[:3]:
        outcome = await run_solidified(load_task(folder), idle, skill=skill, workspace=workspace)
        assert outcome.run.extra["solidified"]["outcome"] == "model"
    record = JitStore(workspace).load("shout", idle).templates[wrong.id]
    assert record.status == "demoted"
    assert not any(t.ok for t in record.trials)
    assert "exact" in record.trials[0].reason or "grader" in record.trials[0].reason


async def test_shadow_trials_promote_then_the_template_does_the_task_without_the_model(setup):
    root, skill, tasks, model = setup
    workspace = Workspace(root / "ws")
    outcomes = [
        await run_solidified(load_task(folder), model, skill=skill, workspace=workspace)
        for folder in tasks
    ]
    shadows = [o.run.extra["solidified"].get("shadow", {}) for o in outcomes]
    # The first passing run is the only evidence at first; later runs shadow its template.
    assert [o.run.extra["solidified"]["outcome"] for o in outcomes][-1] == "template"
    assert sum(1 for s in shadows if s.get("ok")) >= 3
    last = outcomes[-1]
    assert last.score.passed and last.run.usage.input == 0 and last.run.protocol == "solidified"
    trace = [json.loads(line) for line in Path(last.run.trace_path).read_text().splitlines()]
    assert trace[0]["protocol"] == "solidified"
    assert any(e["type"] == "hook" and "notes-5.txt" in e["detail"] for e in trace)


async def promoted_store(root: Path, model: str, template: Template) -> Workspace:
    workspace = Workspace(root / "ws")
    with JitStore(workspace).update("shout", model) as state:
        state.templates[template.id] = TemplateRecord(template=template, status="promoted")
        state.compiler_harvested = True
    return workspace


UPPER = Template(
    skill="shout",
    steps=[Step(kind="command", text='tr a-z A-Z < "${SKVM_P_IN}" > "${SKVM_P_OUT}"')],
    params=[
        Param(name="in", kind="input_file", locators=["folder:.txt"]),
        Param(name="out", kind="output_file", locators=["new:.txt"]),
    ],
    source="traces",
    prompts=[PROMPT.format(src="a.txt", dst="b.txt")],
)


async def test_a_promoted_template_that_starts_failing_falls_back_and_is_demoted(setup):
    root, skill, _, model = setup
    workspace = await promoted_store(root, model, UPPER)
    lower_tasks = [make_task(root / "lower", root / "shout", i, lower=True) for i in (1, 2)]
    for folder in lower_tasks:
        outcome = await run_solidified(load_task(folder), model, skill=skill, workspace=workspace)
        info = outcome.run.extra["solidified"]
        assert info["outcome"] == "fell back" and "grader" in info["reason"]
        assert outcome.score.passed  # the model finished the task in the same call
    record = JitStore(workspace).load("shout", model).templates[UPPER.id]
    assert record.status == "demoted" and record.failures_in_a_row == 2


async def test_a_template_that_times_out_falls_back_to_the_model(setup):
    root, skill, tasks, model = setup
    slow = UPPER.model_copy(
        update={
            "steps": [Step(kind="command", text="sleep 30"), *UPPER.steps],
            "timeout_s": 1.0,
        }
    )
    workspace = await promoted_store(root, model, slow)
    outcome = await run_solidified(load_task(tasks[0]), model, skill=skill, workspace=workspace)
    info = outcome.run.extra["solidified"]
    assert info["outcome"] == "fell back" and "timed out" in info["reason"]
    assert outcome.score.passed
    assert outcome.run.wall_ms < 20_000


def test_state_survives_a_restart_and_a_kill_mid_update(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    with JitStore(workspace).update("shout", "m") as state:
        state.templates[UPPER.id] = TemplateRecord(template=UPPER, status="promoted")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys\n"
            "from pathlib import Path\n"
            "from skvm_core.jit import JitStore\n"
            "from skvm_core.store.workspace import Workspace\n"
            f"store = JitStore(Workspace(Path({str(workspace.root)!r})))\n"
            "with store.update('shout', 'm') as state:\n"
            "    state.templates.clear()\n"
            "    print('inside', flush=True)\n"
            "    signal.pause()\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "inside"
    child.send_signal(signal.SIGKILL)
    child.wait()
    reloaded = JitStore(workspace).load("shout", "m")  # a fresh store: as after a restart
    assert reloaded.templates[UPPER.id].status == "promoted"
    with JitStore(workspace).update("shout", "m") as state:  # the dead child's lock is gone
        state.templates[UPPER.id].note = "still writable"
    assert JitStore(workspace).load("shout", "m").templates[UPPER.id].note == "still writable"


def test_a_damaged_state_file_is_a_clear_error(tmp_path):
    from skvm_core.errors import SkvmError

    store = JitStore(Workspace(tmp_path))
    path = store.path("shout", "m")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(SkvmError, match="jit reset"):
        store.load("shout", "m")


async def test_binding_by_the_model_is_validated(setup, tmp_path):
    _, _, tasks, _ = setup
    answers = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text='{"in": "../../etc/passwd"}')),
        name="jit-binder",
    )
    template = UPPER.model_copy(update={"params": [Param(name="in", kind="input_file")]})
    task = load_task(tasks[0])
    from skvm_core.run.runner import prepare_work_dir

    work = tmp_path / "w"
    prepare_work_dir(task, work)
    binding = await bind(template, task.prompt, work, answers)
    assert not binding.ok and "in=" in binding.problem


async def test_bench_solidified_condition_reports_warmup_apart(setup):
    root, _, tasks, model = setup
    workspace = Workspace(root / "ws")
    plan = BenchPlan(
        session="jit",
        tasks=[str(t) for t in tasks[:4]],
        targets=[model],
        conditions=["original", "solidified"],
        runs=1,
        concurrency=1,
        warmup=1,
    )
    records = await Bench(plan, workspace).run()
    warm = [r for r in records if r.warmup]
    measured = [r for r in records if not r.warmup and r.condition == "solidified"]
    assert len(warm) == 4 and len(measured) == 4
    assert all(r.solidified == "template" for r in measured)
    report = build_report("jit", records)
    cell = next(c for c in report.cells if c.condition == "solidified")
    assert cell.runs == 4 and cell.by_template == 4 and cell.tokens_in == 0
    assert report.warmup[0].runs == 4 and report.warmup[0].shadow_passes >= 3
    assert "Warm-up runs" in to_markdown(report)


async def test_warm_up_on_its_own_tasks_measures_only_tasks_it_never_learned_on(setup):
    root, _, tasks, model = setup
    plan = BenchPlan(
        session="held-out",
        tasks=[str(t) for t in tasks[4:]],
        warmup_tasks=[str(t) for t in tasks[:4]],
        targets=[model],
        conditions=["solidified"],
        runs=1,
        concurrency=1,
        warmup=1,
    )
    records = await Bench(plan, Workspace(root / "ws")).run()
    learned = {r.task_id for r in records if r.warmup}
    measured = {r.task_id for r in records if not r.warmup}
    assert len(learned) == 4 and len(measured) == 1 and not learned & measured
    assert expected_runs(plan) == len(records) == 5
    # What was learned on the warm-up tasks carries over to tasks it never saw.
    assert all(r.passed and r.solidified == "template" for r in records if not r.warmup)


def test_a_task_both_learned_on_and_measured_is_refused(setup):
    root, _, tasks, model = setup
    plan = BenchPlan(
        session="overlap",
        tasks=[str(tasks[0])],
        warmup_tasks=[str(tasks[0])],
        targets=[model],
        conditions=["solidified"],
        warmup=1,
    )
    with pytest.raises(SkvmError, match="two tasks have the id"):
        Bench(plan, Workspace(root / "ws"))


def test_jit_cli_lists_shows_and_changes_status(setup, monkeypatch, capsys):
    root, _, _, _ = setup
    monkeypatch.setenv("SKVM_HOME", str(root / "ws"))
    with JitStore(Workspace(root / "ws")).update("shout", "m") as state:
        state.templates[UPPER.id] = TemplateRecord(template=UPPER)
    from skvm_core.cli import main

    assert main(["jit", "list"]) == 0
    assert UPPER.id in capsys.readouterr().out
    assert main(["jit", "promote", UPPER.id[:6]]) == 0
    assert (
        JitStore(Workspace(root / "ws")).load("shout", "m").templates[UPPER.id].status == "promoted"
    )
    assert main(["jit", "show", UPPER.id]) == 0
    assert "SKVM_P_IN" in capsys.readouterr().out
    assert main(["jit", "demote", "zzzz"]) != 0
    assert "no template" in capsys.readouterr().err
    assert main(["jit", "reset", "--skill", "shout", "--target", "m"]) == 0
    assert not JitStore(Workspace(root / "ws")).load("shout", "m").templates


def test_a_proposed_script_becomes_a_candidate_that_must_earn_trust(setup, monkeypatch, capsys):
    root, _, tasks, _ = setup
    monkeypatch.setenv("SKVM_HOME", str(root / "ws"))
    proposer = register_scripted(
        ScriptedModel(
            lambda m, t: ScriptedTurn(
                text="```bash\nls\ntr a-z A-Z < notes-1.txt > loud-1.txt\n```"
            )
        ),
        name="jit-proposer",
    )
    from skvm_core.cli import main

    assert (
        main(["jit", "propose", "--task", str(tasks[0]), "--target", "m", "--model", proposer]) == 0
    )
    state = JitStore(Workspace(root / "ws")).load("shout", "m")
    (record,) = state.templates.values()
    assert record.status == "candidate" and record.template.source == "llm"
    assert [p.kind for p in record.template.params] == ["input_file", "output_file"]
    assert "notes-1.txt" not in record.template.steps[0].text


def test_values_the_model_bound_right_teach_rules_that_bind_later_tasks(tmp_path):
    from skvm_core.jit.model import Trial
    from skvm_core.jit.trials import apply_trial

    prompts = [
        "orders.csv lists orders with their store and price. Write a.json.",
        "bills.csv lists bills with their building and total. Write b.json.",
    ]
    template = Template(
        skill="s",
        steps=[Step(kind="command", text='echo "${SKVM_P_WORD_1}"')],
        params=[Param(name="word_1", kind="word")],
        source="compiler",
    )
    record = TemplateRecord(template=template)
    for prompt, value in zip(prompts, ["store", "building"], strict=True):
        trial = Trial(
            run_id="r", task_id="t", prompt=prompt, mode="shadow", ok=True, bound={"word_1": value}
        )
        apply_trial(record, trial, shadow_runs=3, demote_after=2)
    new = "grants.csv lists grants with their fund and award. Write c.json."
    binding = bind_by_rules(record.template, new, tmp_path)
    assert binding.values == {"word_1": "fund"} and binding.by == {"word_1": "after:their"}


@pytest.mark.local_model
async def test_the_small_local_model_binds_a_compiler_template_that_then_passes(tmp_path):
    """The embedded 0.5B fills the column names of the compiler's verified call (its answer
    held to the parameters' grammar); the template then does a job the grader accepts."""
    from benchmarks.csv_jobs import write_tasks
    from skvm_core.jit.candidates import ranked
    from skvm_core.jit.harvest import compiler_candidates
    from skvm_core.run.graders import evaluate
    from skvm_core.run.runner import prepare_work_dir, task_skill

    (folder,) = write_tasks(tmp_path / "tasks", 1, seed=3)
    task = load_task(folder)
    skill = task_skill(task)
    records = [TemplateRecord(template=t) for t in compiler_candidates(skill)]
    template = ranked(records, task.prompt)[0].template
    work = tmp_path / "work"
    prepare_work_dir(task, work)
    binding = await bind(template, task.prompt, work, "local/qwen2.5-coder-0.5b")
    assert binding.ok, binding.problem
    assert "model" in binding.by.values() and binding.usage.input > 0
    run = await run_template(template, binding.values, work, skill)
    assert run.ok, run.reason
    from skvm_core.agent.result import RunResult

    result = RunResult(run_id="t", model="m", status="ok", work_dir=work)
    assert (await evaluate(task, result)).passed


async def test_two_columns_that_always_differed_are_never_bound_to_one_value(tmp_path):
    from skvm_core.jit.bind import value_schema

    (tmp_path / "gifts.csv").write_text("id,campaign,gift,note\n1,spring,20.5,ok\n")
    template = Template(
        skill="totals",
        steps=[Step(kind="command", text="python3 sum.py --by x --sum y")],
        params=[
            Param(name="word_1", kind="word", examples=["region"], locators=["after:every"]),
            Param(name="word_2", kind="word", examples=["amount"], choices_from_prompt=True),
        ],
        source="compiler",
    )
    prompt = "Add up the gift column of gifts.csv for every campaign."
    # The model is offered every word of the prompt the file uses, except the one already
    # bound to the column it always differed from.
    schema = value_schema(template.params[1:], prompt, tmp_path, {"word_2": {"campaign"}})
    assert "campaign" not in schema["properties"]["word_2"]["enum"]
    assert "gift" in schema["properties"]["word_2"]["enum"]
    # A model that binds it anyway (no grammar here) is caught before the template runs.
    same = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text='{"word_2": "campaign"}')), name="same-col"
    )
    binding = await bind(template, prompt, tmp_path, same)
    assert binding.values["word_1"] == "campaign" and binding.by["word_1"] == "after:every"
    assert not binding.ok and "both bound to 'campaign'" in binding.problem
    right = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text='{"word_2": "gift"}')), name="right-col"
    )
    assert (await bind(template, prompt, tmp_path, right)).ok


def test_a_common_word_that_names_a_column_is_offered_to_the_model(tmp_path):
    from skvm_core.jit.bind import value_schema

    (tmp_path / "bills.csv").write_text("id,building,total,note\n1,alpha,20.5,ok\n")
    param = Param(name="word_2", kind="word", examples=["amount"], choices_from_prompt=True)
    prompt = "bills.csv lists bills with their building and total. Map each building to the total."
    schema = value_schema([param], prompt, tmp_path, {"word_2": {"building"}})
    # "total" is ordinary language and left out of a prompt's values, but here the file's
    # header names it: it is the column, and the only choice left.
    assert schema["properties"]["word_2"]["enum"] == ["total"]
