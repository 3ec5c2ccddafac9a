"""Trigger evals: a scripted target that calls load_skill counts as a load and one that does
not as none; prompt sets by precedence (authored, imported, synthesised from the skill and
its neighbours); records that resume; a description proposal only when the held-out split
improves; bad input as a clean error. One short run of the embedded 1.5B."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skvm_core.bench.trigger_prompts import (
    PromptSet,
    prompt_set,
    read_prompt_file,
    split_prompts,
    synthesise,
)
from skvm_core.bench.trigger_report import build_report, render_markdown, write_report
from skvm_core.bench.triggers import (
    TriggerOptions,
    TriggerStore,
    offer_key,
    run_trigger,
    run_triggers,
)
from skvm_core.cli import main
from skvm_core.errors import SkvmError
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.skill import load_skill
from skvm_core.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


def write_skill(parent: Path, name: str, description: str, body: str = "") -> Path:
    folder = parent / name
    folder.mkdir(parents=True)
    text = body or f"# {name}\n\nFollow these steps for {name}.\n"
    (folder / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: {description}\n---\n\n{text}"
    )
    return folder


def write_task(parent: Path, task_id: str, skill: str, prompt: str) -> None:
    folder = parent / "tasks" / task_id
    folder.mkdir(parents=True)
    task = {"id": task_id, "prompt": prompt, "skill": f"../../{skill}", "eval": []}
    (folder / "task.json").write_text(json.dumps(task))


@pytest.fixture
def skills(tmp_path) -> Path:
    """Three skills side by side, each with two tasks."""
    parent = tmp_path / "skills"
    write_skill(
        parent, "widget-count", "Count widgets in a parts list. Use when asked to count widgets."
    )
    write_skill(parent, "poem-rhyme", "Find rhymes for a poem. Use when asked for rhymes.")
    write_skill(parent, "map-route", "Plan a route on a map. Use when asked to plan a trip.")
    for skill, prompts in {
        "widget-count": ["Count the widget rows in parts.txt.", "How many widget kinds does stock.csv list?"],
        "poem-rhyme": ["Give me rhymes for every line of poem.txt.", "Which words rhyme with moon?"],
        "map-route": ["Plan a route from A to B on map.json.", "How far is the trip in legs.csv?"],
    }.items():  # fmt: skip
        for index, prompt in enumerate(prompts):
            write_task(parent, f"{skill}-{index}", skill, prompt)
    return parent


def _user(messages) -> str:
    return next(m["content"] for m in messages if m["role"] == "user")


def _system(messages) -> str:
    return next(m["content"] for m in messages if m["role"] == "system")


def loader(word: str, needs: str = ""):
    """A scripted target that loads the offered skill when the request has `word` (and the
    offered description has `needs`), and otherwise answers without a tool."""

    def respond(messages, tools):
        if any(m["role"] == "tool" for m in messages):
            return ScriptedTurn(text="done")
        system = _system(messages)
        if word in _user(messages).lower() and needs in system:
            name = system.split("Available skills", 1)[1].split("\n- ", 1)[1].split(":", 1)[0]
            return ScriptedTurn(
                tool_calls=[ScriptedCall(name="load_skill", arguments={"name": name})]
            )
        return ScriptedTurn(text="Here is my answer.")

    return ScriptedModel(respond)


# --- what counts as a load -----------------------------------------------------------------


async def test_a_target_that_calls_load_skill_loads_and_one_that_does_not_does_not(skills):
    skill = load_skill(skills / "widget-count")
    prompts = synthesise(skill, Workspace.default())
    positive = prompts.of_kind(True)[0]
    workspace = Workspace.default()
    always = register_scripted(loader(""))
    never = register_scripted(ScriptedModel(lambda m, t: ScriptedTurn(text="no skill needed")))
    loaded = await run_trigger(skill, positive, always, "bare", 0, TriggerOptions(), workspace)
    assert loaded.loaded and loaded.attempted and loaded.status == "loaded" and not loaded.tainted
    assert loaded.steps == 1  # stopped at the load: no further model turn
    assert loaded.trace and Path(loaded.trace).is_file()
    skipped = await run_trigger(skill, positive, never, "bare", 0, TriggerOptions(), workspace)
    assert not skipped.loaded and not skipped.attempted and skipped.status == "ok"


async def test_under_code_act_reading_the_skill_file_is_the_load(skills, monkeypatch):
    """The protocol the small local models get offers no tool: the listing names the file."""
    import skvm_core.profile.store as profile_store

    monkeypatch.setattr(profile_store, "target_protocol", lambda *a, **k: "code-act")
    skill = load_skill(skills / "widget-count")
    positive = synthesise(skill, Workspace.default()).of_kind(True)[0]

    def reader(messages, tools):
        path = _system(messages).split("read its instructions before you start: cat ", 1)[1]
        path = path.split(")", 1)[0]
        return ScriptedTurn(text=f"Read it.\n```bash\ncat {path}\n```")

    record = await run_trigger(
        skill,
        positive,
        register_scripted(ScriptedModel(reader)),
        "bare",
        0,
        TriggerOptions(),
        Workspace.default(),
    )
    assert record.loaded and record.status == "loaded" and record.steps == 1


async def test_a_load_of_another_name_is_an_attempt_not_a_load(skills):
    skill = load_skill(skills / "widget-count")
    prompt = synthesise(skill, Workspace.default()).prompts[0]
    wrong = register_scripted(
        ScriptedModel(
            lambda m, t: (
                ScriptedTurn(text="done")
                if any(x["role"] == "tool" for x in m)
                else ScriptedTurn(
                    tool_calls=[ScriptedCall(name="load_skill", arguments={"name": "nope"})]
                )
            )
        )
    )
    record = await run_trigger(
        skill, prompt, wrong, "bare", 0, TriggerOptions(), Workspace.default()
    )
    assert record.attempted and not record.loaded


# --- prompt sets ------------------------------------------------------------------------------


def test_synthesised_prompts_come_from_the_skill_and_negatives_from_other_skills(skills):
    skill = load_skill(skills / "widget-count")
    prompts = synthesise(skill, Workspace.default())
    assert prompts.origin == "synthesised"
    positives, negatives = prompts.of_kind(True), prompts.of_kind(False)
    assert {p.source for p in positives} >= {
        "task:widget-count-0",
        "task:widget-count-1",
        "description",
    }
    assert "Please count widgets." in [p.text for p in positives]
    assert negatives and all(p.source.startswith("other:") for p in negatives)
    assert {p.source.split("/")[0] for p in negatives} == {"other:poem-rhyme", "other:map-route"}
    assert not any("widget" in p.text.lower() for p in negatives)
    # Deterministic: the same set on every call.
    assert synthesise(skill, Workspace.default()) == prompts


def test_a_skill_alone_takes_its_negatives_from_the_fallback_folders(tmp_path, skills):
    alone = load_skill(
        write_skill(tmp_path / "lone", "solo", "Do a solo thing. Use when asked to go solo.")
    )
    prompts = synthesise(alone, Workspace.default(), fallback=[skills])
    assert prompts.of_kind(False) and all(
        p.source.startswith("other:") for p in prompts.of_kind(False)
    )
    with pytest.raises(SkvmError, match="no other skills") as caught:
        synthesise(alone, Workspace.default(), fallback=[])
    assert "--prompts" in caught.value.hint


def test_an_authored_file_beside_the_tasks_wins_and_an_imported_set_reads(skills):
    skill = load_skill(skills / "widget-count")
    shared = skills / "tasks" / "triggers.json"
    shared.write_text(json.dumps({"skill": "poem-rhyme", "should_trigger": ["x"]}))
    assert prompt_set(skill, Workspace.default()).origin == "synthesised"  # not for this skill
    shared.write_text(
        json.dumps({"skill": "widget-count", "should_trigger": ["count my widgets"], "should_not_trigger": ["bake bread"]})
    )  # fmt: skip
    authored = prompt_set(skill, Workspace.default())
    assert authored.origin == "authored" and [p.text for p in authored.of_kind(False)] == [
        "bake bread"
    ]
    assert authored.prompts[0].source == f"authored:{shared}"
    evals = skills / "widget-count" / "evals"
    evals.mkdir()
    (evals / "trigger-eval.json").write_text(
        json.dumps([{"query": "count the widgets", "should_trigger": True}, {"query": "sing", "should_trigger": False}])
    )  # fmt: skip
    imported = read_prompt_file(evals / "trigger-eval.json")
    assert imported.origin == "imported" and len(imported.prompts) == 2
    shared.unlink()
    assert prompt_set(skill, Workspace.default()).origin == "imported"


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"should_trigger": "one"}),
        json.dumps({"triggers": []}),
        "{}",
    ],
)
def test_a_malformed_prompts_file_is_a_clear_error(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SkvmError) as caught:
        read_prompt_file(path)
    assert caught.value.hint and "should_trigger" in caught.value.hint


def test_the_split_is_seeded_per_kind_and_holds_out_forty_percent(skills):
    prompts = synthesise(load_skill(skills / "widget-count"), Workspace.default()).prompts
    train, test = split_prompts(prompts, 0.4, seed=3)
    assert split_prompts(prompts, 0.4, seed=3) == (train, test)
    assert {p.id for p in train}.isdisjoint(p.id for p in test)
    assert len(train) + len(test) == len(prompts)
    assert any(p.should_trigger for p in test) and any(not p.should_trigger for p in test)


# --- records, resume, report ------------------------------------------------------------------


async def test_records_resume_and_the_report_has_rates_and_intervals(skills, tmp_path):
    skill = load_skill(skills / "widget-count")
    workspace = Workspace.default()
    prompts = synthesise(skill, workspace)
    model = loader("widget")
    target = register_scripted(model)
    store = TriggerStore(tmp_path / "out")
    options = TriggerOptions(runs=2)
    half = prompts.prompts[:2]
    await run_triggers(skill, half, [target], ["bare"], options, store, workspace)
    asked = len(model.requests)
    records = await run_triggers(
        skill, prompts.prompts, [target], ["bare"], options, store, workspace
    )
    # The first two prompts' four runs were read back, not run again (a run is one turn).
    assert len(model.requests) - asked == 2 * len(prompts.prompts[2:])
    assert len(records) == 2 * len(prompts.prompts)
    again = len(model.requests)
    await run_triggers(skill, prompts.prompts, [target], ["bare"], options, store, workspace)
    assert len(model.requests) == again
    report = build_report(skill, prompts, records, offer_key(skill, options), 2)
    (cell,) = report.cells
    assert cell.load.runs == 2 * len(prompts.of_kind(True)) and cell.false_load.hits == 0
    assert 0 <= cell.load.low <= cell.load.rate <= cell.load.high <= 1
    assert cell.score == pytest.approx(cell.load.rate - cell.false_load.rate)
    json_path, md_path = write_report(tmp_path / "out", report)
    assert json.loads(json_path.read_text())["cells"][0]["harness"] == "bare"
    markdown = render_markdown(report)
    assert "load rate" in markdown and "other:poem-rhyme" in md_path.read_text()


def test_the_command_runs_and_writes_its_report(skills, tmp_path, capsys):
    target = register_scripted(loader("widget"), name="trigger-cli")
    out = tmp_path / "cli-out"
    code = main(
        ["triggers", "--skill", str(skills / "widget-count"), "--target", target, "--out", str(out)]
    )
    assert code == 0, capsys.readouterr()
    report = json.loads((out / "report.json").read_text())
    assert report["origin"] == "synthesised" and report["cells"][0]["load"]["rate"] > 0
    assert (out / "report.md").is_file()


# --- description optimisation -----------------------------------------------------------------


def _proposer(description: str) -> str:
    return register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text=f"```text\n{description}\n```"))
    )


async def _optimize(skills, tmp_path, proposer: str):
    from skvm_core.optimize.description import optimize_description

    skill = load_skill(skills / "widget-count")
    workspace = Workspace.default()
    # The target loads only when the description offered says "gadgets".
    target = register_scripted(loader("widget", needs="gadgets"))
    return skill, await optimize_description(
        skill,
        synthesise(skill, workspace),
        target=target,
        harness="bare",
        proposer=proposer,
        rounds=1,
        seed=0,
        options=TriggerOptions(),
        workspace=workspace,
        out=tmp_path / "opt",
        base_variant=skill.root,
        base_note="test",
    )


async def test_a_description_that_improves_the_held_out_split_becomes_a_proposal(skills, tmp_path):
    from skvm_core.optimize.proposals import ProposalStore

    proposer = _proposer("Count widgets and gadgets in a parts list of any format.")
    skill, session = await _optimize(skills, tmp_path, proposer)
    original, candidate = session.candidates
    assert original.held_out == 0 and candidate.held_out == 1 and session.best == 1
    store = ProposalStore(Workspace.default())
    proposal = store.get(session.proposal)
    assert proposal.before.mean == 0 and proposal.after.mean == 1
    text = store.variant_text(proposal)
    assert "gadgets" in text and "Follow these steps for widget-count." in text
    assert "gadgets" not in (skills / "widget-count" / "SKILL.md").read_text()  # never changed
    assert load_skill(store.folder(proposal.id) / "variant").description == candidate.description


async def test_no_proposal_when_the_held_out_split_does_not_improve(skills, tmp_path):
    _, session = await _optimize(skills, tmp_path, _proposer("Counts items in lists."))
    assert session.best is None and session.proposal is None
    assert "no candidate beat the original" in session.reason
    _, refused = await _optimize(skills, tmp_path / "again", _proposer(""))
    assert refused.proposal is None and "empty" in refused.reason


def test_a_block_scalar_description_is_replaced_and_the_rest_kept():
    from skvm_core.skill.frontmatter import with_description

    text = "---\nname: x\ndescription: >\n  old words\n  more\nlicense: MIT\n---\n\nbody: here\n"
    new = with_description(text, 'New: "quoted" words')
    assert 'description: "New: \\"quoted\\" words"\nlicense: MIT\n' in new and new.endswith(
        "body: here\n"
    )


# --- bad input from the command line ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["triggers", "--skill", "{missing}", "--target", "scripted/x"],
        ["triggers", "--skill", "{skill}", "--target", "scripted/x", "--prompts", "{bad}"],
        ["triggers", "--skill", "{skill}", "--target", "nope/model"],
        ["optimize", "--description", "--target", "scripted/x"],
        ["optimize", "--description", "--skill", "{missing}", "--target", "scripted/x"],
    ],
)
def test_bad_input_is_an_error_with_a_hint_and_no_traceback(skills, tmp_path, capsys, argv):
    bad = tmp_path / "bad.json"
    bad.write_text('{"should_trigger": [""]}')
    values = {
        "missing": str(tmp_path / "missing"),
        "skill": str(skills / "widget-count"),
        "bad": str(bad),
    }
    code = main([a.format(**values) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "error:" in err and "hint:" in err and "Traceback" not in err


# --- the embedded model -------------------------------------------------------------------------


@pytest.mark.local_model
async def test_the_small_local_model_produces_records_and_a_report(tmp_path):
    skill = load_skill(ROOT / "sample_skills" / "csv-report")
    workspace = Workspace.default()
    full = synthesise(skill, workspace)
    prompts = PromptSet(origin=full.origin, prompts=[full.of_kind(True)[0], full.of_kind(False)[0]])
    options = TriggerOptions(max_steps=2)
    store = TriggerStore(tmp_path / "out")
    target = "local/qwen2.5-coder-1.5b"
    records = await run_triggers(
        skill, prompts.prompts, [target], ["bare"], options, store, workspace
    )
    assert len(records) == 2 and {r.should_trigger for r in records} == {True, False}
    for record in records:
        assert record.status in ("loaded", "ok", "timeout", "crashed") and 0 <= record.steps <= 2
        assert record.trace and Path(record.trace).is_file()
        assert store.get(record.key, target, "bare", record.prompt_id, 0) == record
    report = build_report(skill, prompts, records, offer_key(skill, options), 1)
    (cell,) = report.cells
    assert cell.load.runs + cell.false_load.runs + cell.tainted == 2
    write_report(tmp_path / "out", report)
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Trigger eval: csv-report")


# --- external harnesses (scripted model behind our server) -----------------------------------


@pytest.mark.parametrize("name", ["opencode", "codex", "claude-code", "pi"])
async def test_an_external_harness_load_is_found_in_its_converted_trace(skills, name):
    from skvm_core.harness.install import binary_path

    if not binary_path(name).exists():
        pytest.skip(f"the {name} CLI is not installed (make harnesses)")
    skill = load_skill(skills / "widget-count")
    prompt = synthesise(skill, Workspace.default()).of_kind(True)[0]

    def respond(messages, tools):
        if not tools or any(m.get("role") == "tool" for m in messages):
            return ScriptedTurn(text="done")
        if name == "opencode":  # its `skill` tool hands over the body
            return ScriptedTurn(
                tool_calls=[ScriptedCall(name="skill", arguments={"name": skill.name})]
            )
        if name == "claude-code":  # its Skill tool; the body follows as a user message
            return ScriptedTurn(
                tool_calls=[ScriptedCall(name="Skill", arguments={"skill": skill.name})]
            )
        if name == "pi":  # pi lists the skill's path; the model reads it
            path = f".pi/skills/{skill.name}/SKILL.md"
            return ScriptedTurn(tool_calls=[ScriptedCall(name="read", arguments={"path": path})])
        command = f"cat .agents/skills/{skill.name}/SKILL.md"  # Codex reads skills as files
        return ScriptedTurn(
            tool_calls=[ScriptedCall(name="exec_command", arguments={"cmd": command})]
        )

    model = ScriptedModel(respond)
    record = await run_trigger(
        skill, prompt, register_scripted(model), name, 0, TriggerOptions(), Workspace.default()
    )
    assert record.loaded and record.status == "loaded", record
    assert record.harness == name and record.trace
