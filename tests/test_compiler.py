"""The AOT compiler on the sample skills, reference profiles and (when committed) local ones."""

import difflib
import json
import subprocess
from pathlib import Path

import pytest

from skvm_core.compile import compile_skill, write_variant
from skvm_core.compile.analyze import analyze
from skvm_core.compile.bind_env import bind_environment
from skvm_core.compile.gaps import find_gaps
from skvm_core.compile.manager import Pass, PassContext, PassManager
from skvm_core.compile.parallel import extract_workflow
from skvm_core.compile.rewrite import guard
from skvm_core.profile.store import BUNDLED
from skvm_core.profile.tcp import TCP, load_tcp
from skvm_core.skill import load_skill
from tests.conftest import SAMPLE_SKILLS

SKILLS = sorted(p.name for p in SAMPLE_SKILLS.iterdir() if (p / "SKILL.md").is_file())
LOCAL = ["local--qwen2.5-coder-0.5b", "local--qwen2.5-coder-1.5b"]
# Made here: a target at one level on every primitive (mid: gaps a note can close; strong: none).
MID, STRONG = "made--uniform-l2", "made--uniform-l3"


def uniform_profile(level: str) -> TCP:
    from skvm_core.catalog import load_catalog

    ids = [p.id for p in load_catalog().primitives]
    return TCP(model=f"made/uniform-{level.lower()}", profiledAt="2026-01-01T00:00:00Z",
               capabilities=dict.fromkeys(ids, level))  # fmt: skip


def profiles() -> dict[str, TCP]:
    """The project's bundled profiles of the embedded models, and two made uniform ones."""
    found = {name: load_tcp(BUNDLED / "bare-agent" / name / "latest.json") for name in LOCAL}
    return {**found, MID: uniform_profile("L2"), STRONG: uniform_profile("L3")}


def added_lines(source: str, variant: str) -> set[int]:
    """Variant lines with content that the source does not have at that place. (Blank
    separators are left out: a diff may pair them with either neighbour.)"""
    lines = variant.splitlines()
    matcher = difflib.SequenceMatcher(a=source.splitlines(), b=lines, autojunk=False)
    added: set[int] = set()
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            added |= {n for n in range(j1 + 1, j2 + 1) if lines[n - 1].strip()}
    return added


@pytest.mark.parametrize("skill_name", SKILLS)
def test_every_sample_skill_compiles_deterministically_guarded_and_mapped(skill_name, tmp_path):
    skill = load_skill(SAMPLE_SKILLS / skill_name)
    for target, tcp in profiles().items():
        cold = compile_skill(skill, tcp, cache_dir=tmp_path / "cache")
        warm = compile_skill(skill, tcp, cache_dir=tmp_path / "cache")
        assert not cold.errors, cold.errors
        assert all(r.cached for r in warm.records), [(r.id, r.cached) for r in warm.records]
        first, second = (
            write_variant(cold, tmp_path / "a" / target),
            write_variant(warm, tmp_path / "b" / target),
        )
        for name in (
            "SKILL.md",
            *(
                f".skvm/{n}"
                for n in (
                    "meta.json",
                    "source_map.json",
                    "env-setup.sh",
                    "workflow.json",
                    "scr.json",
                )
            ),
        ):
            assert (first / name).read_bytes() == (second / name).read_bytes(), (target, name)
        # The compile artifacts are not part of the skill the agent receives; the files the
        # variant adds (a lowering's reference text) are.
        assert {f.path for f in load_skill(first).files} == {f.path for f in skill.files} | set(
            cold.variant.files
        )
        variant = cold.variant
        assert variant.guard_violations == [], (target, variant.guard_violations)
        covered = {
            n for e in variant.source_map for n in range(e.variant_lines[0], e.variant_lines[1] + 1)
        }
        assert added_lines(skill.source, variant.text) <= covered, target
        assert json.loads((first / ".skvm" / "meta.json").read_text())["guard"]["satisfied"]
        for bundle_file in skill.files:
            assert (first / bundle_file.path).read_bytes() == (
                skill.root / bundle_file.path
            ).read_bytes()


def compensation_lines(tcp: TCP) -> int:
    total = 0
    for name in SKILLS:
        result = compile_skill(load_skill(SAMPLE_SKILLS / name), tcp, passes=["rewrite"])
        total += sum(e.variant_lines[1] - e.variant_lines[0] + 1 for e in result.variant.source_map)
    return total


def test_weaker_targets_receive_more_compensation():
    found = profiles()
    weak, strong = (
        compensation_lines(found[MID]),
        compensation_lines(found[STRONG]),
    )
    assert weak > strong
    assert compensation_lines(found["local--qwen2.5-coder-0.5b"]) >= weak


def test_gaps_unknown_for_unprofiled_primitives():
    skill = load_skill(SAMPLE_SKILLS / "sql-inventory")
    tcp = TCP(model="m", profiledAt="now", capabilities={"gen.code.sql": "L1"})
    gaps = find_gaps(analyze(skill), tcp)
    kinds = {g.primitive_id: g.gap_type for g in gaps}
    assert kinds["tool.exec"] == "unknown"
    assert all(g.severity == 0 for g in gaps if g.gap_type == "unknown")


def test_every_requirement_carries_evidence_lines():
    for name in SKILLS:
        scr = analyze(load_skill(SAMPLE_SKILLS / name))
        for _purpose, requirement in scr.requirements():
            assert requirement.evidence and (requirement.lines or requirement.file != "SKILL.md")


def test_release_workflow_dag():
    workflow = extract_workflow(load_skill(SAMPLE_SKILLS / "release-notes"))
    deps = {s.id: s.depends_on for s in workflow.steps}
    assert deps == {"s1": [], "s2": [], "s3": [], "s4": ["s1", "s2", "s3"]}
    assert workflow.declared_independent
    groups = {tuple(g.steps): g.kind for g in workflow.groups}
    assert groups[("s1", "s2", "s3")] == "TLP"
    assert (
        workflow.steps[0].produces == ["changes.txt"]
        and "changes.txt" in workflow.steps[3].consumes
    )


def test_ordinary_procedures_stay_sequential():
    workflow = extract_workflow(load_skill(SAMPLE_SKILLS / "csv-report"))
    assert all(s.depends_on == [f"s{int(s.id[1:]) - 1}"] for s in workflow.steps[1:])
    assert not [g for g in workflow.groups if g.kind != "DLP"]


def test_compiled_variant_tells_the_harness_to_batch_independent_steps():
    skill = load_skill(SAMPLE_SKILLS / "release-notes")
    result = compile_skill(skill, profiles()[STRONG])
    assert "steps 1, 2 and 3 do not depend on each other" in result.variant.text


DEP_SKILL = """---
name: media-report
description: Build a media report.
---

# Media report

```python
import json
import pandas as pd
import requests
from bs4 import BeautifulSoup
```

```bash
ffmpeg -i in.mp4 -vn out.wav
curl -s http://127.0.0.1/data.json | jq '.items[] | .name' > names.txt
```
"""


def test_env_binding_names_distributions_and_tools_and_is_idempotent_in_the_sandbox(tmp_path):
    folder = tmp_path / "media-report"
    folder.mkdir()
    (folder / "SKILL.md").write_text(DEP_SKILL)
    (folder / "scripts").mkdir()
    (folder / "scripts" / "x.py").write_text("import yaml\nimport os\n")
    binding = bind_environment(load_skill(folder))
    python = {d.name for d in binding.of_kind("python")}
    tools = {d.name for d in binding.of_kind("tool")}
    assert python == {"pandas", "requests", "beautifulsoup4", "PyYAML"}
    assert tools == {"ffmpeg", "jq", "curl"}
    script = tmp_path / "env-setup.sh"
    script.write_text(binding.script)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0

    import asyncio

    from skvm_core.agent.sandbox import run_command

    work = tmp_path / "sandbox"
    work.mkdir()
    (work / "env-setup.sh").write_text(binding.script)
    first = asyncio.run(run_command("bash env-setup.sh", work, timeout_s=120))
    second = asyncio.run(run_command("bash env-setup.sh", work, timeout_s=120))
    assert (first.exit_code, first.stdout, first.stderr) == (
        second.exit_code,
        second.stdout,
        second.stderr,
    )
    assert "pandas" in first.stdout + first.stderr


def test_compile_never_runs_env_setup_on_the_host(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    skill = load_skill(SAMPLE_SKILLS / "invoice-batch")
    compile_skill(skill, profiles()[MID], cache_dir=tmp_path)
    assert calls == []


def test_pass_cache_keys_follow_declared_inputs(tmp_path):
    source = (SAMPLE_SKILLS / "csv-report" / "SKILL.md").read_text()
    folder = tmp_path / "csv-report"
    import shutil

    shutil.copytree(SAMPLE_SKILLS / "csv-report", folder)
    tcp = profiles()[MID]
    compile_skill(load_skill(folder), tcp, cache_dir=tmp_path / "cache")
    # An edit to prose that demands nothing new: the analysis text changes only if the edited
    # line was evidence, so gaps and env binding stay cached.
    (folder / "SKILL.md").write_text(
        source.replace(
            "Turn a CSV file into a small JSON report.",
            "Turn a CSV file into a small JSON summary.",
        )
    )
    again = compile_skill(load_skill(folder), tcp, cache_dir=tmp_path / "cache")
    state = {r.id: r.cached for r in again.records}
    assert state["analyze"] is False and state["bind_env"] is True and state["parallelism"] is True
    # A second target reuses the SCR.
    other = compile_skill(load_skill(folder), profiles()[STRONG], cache_dir=tmp_path / "cache")
    assert {r.id: r.cached for r in other.records}["analyze"] is True


def test_passes_selection_resolves_dependencies(tmp_path):
    skill = load_skill(SAMPLE_SKILLS / "invoice-batch")
    result = compile_skill(skill, profiles()[MID], passes=["bind_env"])
    assert [r.id for r in result.records] == ["bind_env", "emit"]
    assert result.variant.text == skill.source
    result = compile_skill(skill, profiles()[MID], passes=["rewrite"])
    assert [r.id for r in result.records] == ["analyze", "gaps", "rewrite", "emit"]


def test_a_failing_pass_reports_itself_and_keeps_earlier_results():
    def boom(context, inputs):
        raise RuntimeError("pass exploded")

    manager = PassManager(
        [
            Pass("first", ("x",), int, lambda c, i: i["x"] + 1),
            Pass("second", ("first",), int, boom),
            Pass("third", ("second",), int, lambda c, i: i["second"]),
        ],
        None,
    )
    results, records = manager.run(PassContext(views={"x": 1}))
    assert results == {"first": 2}
    by_id = {r.id: r for r in records}
    assert "pass exploded" in by_id["second"].error
    assert "failed" in by_id["third"].skipped


def test_guard_catches_removed_code_headings_and_front_matter():
    skill = load_skill(SAMPLE_SKILLS / "csv-report")
    assert guard(skill, skill.source) == []
    broken = skill.source.replace("## Checks", "## Verification").replace("import csv\n", "")
    violations = guard(skill, broken)
    assert any("heading 'Checks'" in v for v in violations) and any(
        "code block" in v for v in violations
    )
    assert any(
        "front matter" in v
        for v in guard(skill, skill.source.replace("name: csv-report", "name: other"))
    )
    assert any("budget" in v for v in guard(skill, skill.source + "x" * 20000))


def notes_target() -> TCP:
    """A target whose only gaps are ones a note can help with (no lowering)."""
    from skvm_core.catalog import load_catalog

    levels = {p: "L3" for p in load_catalog().ids()}
    levels.update({"follow.format": "L0", "gen.regex": "L0", "follow.constraint": "L0"})
    return TCP(model="openai/notes-target", profiledAt="now", capabilities=levels)


def test_llm_rewrite_is_held_to_the_guard_and_replaced_when_it_fails():
    from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted

    skill = load_skill(SAMPLE_SKILLS / "csv-report")
    tcp = notes_target()
    bad = ScriptedTurn(text="```markdown\n---\nname: csv-report\n---\nshort\n```")
    model = ScriptedModel(
        [
            ScriptedTurn(
                text='{"requirements": [{"primitive": "gen.code.cobol", "minLevel": "L1", "line": 12}]}'
            ),
            bad,
            bad,
        ]
    )
    result = compile_skill(skill, tcp, compiler_model=register_scripted(model))
    assert result.artifacts["rewrite"].mode == "static"
    assert (
        result.artifacts["rewrite"].llm_violations and model.turns_used == 3
    )  # one retry, then fallback
    assert result.variant.guard_violations == []
    assert "gen.code.cobol" not in json.dumps(result.artifacts["analyze"].model_dump(by_alias=True))


def test_llm_rewrite_that_satisfies_the_guard_is_used():
    from skvm_core.llm import ScriptedModel, ScriptedTurn, register_scripted

    # A skill without scripts: one with scripts is lowered to them, deterministically.
    skill = load_skill(SAMPLE_SKILLS / "log-triage")
    improved = skill.source.replace("## Rules", "Use code for every number.\n\n## Rules")
    model = ScriptedModel(
        [
            ScriptedTurn(
                text='{"requirements": [{"primitive": "reason.logic", "minLevel": "L1", "line": 50, "evidence": "check"}]}'
            ),
            ScriptedTurn(text=f"```markdown\n{improved}```"),
        ]
    )
    result = compile_skill(skill, notes_target(), compiler_model=register_scripted(model))
    assert result.artifacts["rewrite"].mode.startswith("llm:")
    assert "Use code for every number." in result.variant.text
    assert result.variant.source_map and result.variant.guard_violations == []
    assert "llm" in result.artifacts["analyze"].analyzer


def test_compile_explain_and_diff_cli(tmp_path):
    import os
    import sys

    root = Path(__file__).resolve().parent.parent
    profile = str(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")

    def skvm(*args):
        return subprocess.run(
            [sys.executable, "-m", "skvm_core.cli", *args],
            capture_output=True,
            text=True,
            cwd=root,
            env=os.environ,
        )

    out = tmp_path / "variant"
    compiled = skvm(
        "compile",
        "--skill",
        "sample_skills/log-triage",
        "--target",
        "local/qwen2.5-coder-0.5b",
        "--profile",
        profile,
        "--out",
        str(out),
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert (out / "SKILL.md").is_file()
    assert {"meta.json", "source_map.json", "env-setup.sh", "workflow.json"} <= {
        p.name for p in (out / ".skvm").iterdir()
    }
    explained = skvm(
        "explain",
        "--skill",
        "sample_skills/log-triage",
        "--target",
        "local/qwen2.5-coder-0.5b",
        "--profile",
        profile,
    )
    assert (
        explained.returncode == 0
        and "gen.code.shell" in explained.stdout
        and "│" in explained.stdout
    )
    diffed = skvm("diff", "sample_skills/log-triage", str(out))
    # No script to lower to, and notes would only lengthen a weak target's prompt.
    assert diffed.returncode == 0 and diffed.stdout.strip() == ""
    missing = skvm(
        "compile", "--skill", "sample_skills/log-triage", "--target", "openrouter/nobody/none"
    )
    assert missing.returncode == 2 and "no profile" in missing.stderr


def test_local_profiles_are_committed_and_ordered():
    from skvm_core.catalog import level_index

    small, large = (load_tcp(BUNDLED / "bare-agent" / name / "latest.json") for name in LOCAL)
    assert small.model == "local/qwen2.5-coder-0.5b" and large.model == "local/qwen2.5-coder-1.5b"
    assert small.capabilities != large.capabilities
    assert len(small.capabilities) == len(large.capabilities) == 26
    at_or_above = sum(
        level_index(large.capabilities[p]) >= level_index(small.capabilities[p])
        for p in small.capabilities
    )
    assert at_or_above > 13  # most primitives


def test_an_l1_gap_with_nothing_to_degrade_to_compiles(tmp_path):
    # Plain JavaScript and HTML blocks need L1; the committed 0.5B profile has L0 on both
    # and the catalog has no template for them: this raised IndexError.
    folder = tmp_path / "js-page"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: js-page\ndescription: Build a small page. Use when asked for an HTML page.\n---\n\n"
        "# JS page\n\n```javascript\nconst fs = require('fs');\nfs.writeFileSync('out.txt', 'hi');\n```\n\n"
        "```html\n<h1>Title</h1>\n```\n"
    )
    tcp = load_tcp(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")
    result = compile_skill(load_skill(folder), tcp)
    assert not result.errors and result.variant is not None
    assert {g.primitive_id for g in result.gaps} >= {"gen.code.javascript", "gen.code.html"}


def test_compile_reports_the_skill_text_tokens_before_and_after():
    tcp = load_tcp(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")
    result = compile_skill(load_skill(SAMPLE_SKILLS / "csv-report"), tcp)
    original, compiled = result.prompt_tokens
    assert original > 100 and compiled > 0
    # Notes are added today (issue: lowering must shrink this): the count shows it.
    assert (compiled > original) == (len(result.variant.text) > len(result.skill.source))


def _counting_sandbox(monkeypatch) -> list[str]:
    """Every compile-time check that reaches the sandbox, by command."""
    import skvm_core.compile.verifier as verifier_module

    ran: list[str] = []
    real = verifier_module.verify_command_async

    async def counted(command, files, outputs, **kwargs):
        ran.append(command)
        return await real(command, files, outputs, **kwargs)

    monkeypatch.setattr(verifier_module, "verify_command_async", counted)
    return ran


@pytest.mark.parametrize("skill_name", ["csv-report", "invoice-batch"])
def test_a_prose_edit_re_runs_no_sandbox_check(skill_name, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / skill_name
    shutil.copytree(SAMPLE_SKILLS / skill_name, folder)
    tcp = profiles()["local--qwen2.5-coder-0.5b"]
    ran = _counting_sandbox(monkeypatch)
    compile_skill(load_skill(folder), tcp, cache_dir=tmp_path / "cache")
    assert ran, "the skill's scripts were checked in the sandbox on the first compile"
    ran.clear()
    skill_md = folder / "SKILL.md"
    text = skill_md.read_text()
    heading = next(line for line in text.splitlines() if line.startswith("# "))
    skill_md.write_text(text.replace(heading, heading + "\n\nA sentence the author added."))
    edited = compile_skill(load_skill(folder), tcp, cache_dir=tmp_path / "cache")
    assert "A sentence the author added." in edited.variant.text or not edited.errors
    assert ran == []
    # A new process (the workbench restarted) finds the checks on disk too.
    compile_skill(load_skill(folder), profiles()[MID], cache_dir=tmp_path / "cache")
    assert ran == []


def test_a_changed_code_block_re_runs_only_its_own_checks(tmp_path, monkeypatch):
    folder = tmp_path / "two-blocks"
    folder.mkdir()
    block = "```python\nimport csv\nrows = list(csv.DictReader(open('{f}.csv')))\nopen('{f}.txt', 'w').write(str(len(rows)))\n```\n"
    text = (
        "---\nname: two-blocks\ndescription: Count rows.\n---\n\n# Two blocks\n\n"
        "## Orders\n\n" + block.format(f="orders") + "\n## Users\n\n" + block.format(f="users")
    )
    (folder / "SKILL.md").write_text(text)
    tcp = profiles()["local--qwen2.5-coder-0.5b"]
    ran = _counting_sandbox(monkeypatch)
    compile_skill(load_skill(folder), tcp, cache_dir=tmp_path / "cache")
    assert any("orders" in c for c in ran) and any("users" in c for c in ran)
    ran.clear()
    (folder / "SKILL.md").write_text(text.replace("str(len(rows))", "str(len(rows) + 0)", 1))
    compile_skill(load_skill(folder), tcp, cache_dir=tmp_path / "cache")
    assert ran and all("orders" in c for c in ran)  # the users block was not checked again


def test_checks_asked_together_run_concurrently_and_come_back_in_order(monkeypatch):
    import asyncio

    import skvm_core.compile.verifier as verifier_module
    from skvm_core.compile.verifier import Check, Verifier

    in_flight, both = [], asyncio.Event()
    real = verifier_module.verify_command_async

    async def meeting(command, files, outputs, **kwargs):
        # Each check waits until the other has started: serial checks would never meet.
        in_flight.append(command)
        if len(in_flight) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), timeout=20)
        return await real(command, files, outputs, **kwargs)

    monkeypatch.setattr(verifier_module, "verify_command_async", meeting)
    verifier = Verifier(concurrency=2)
    first, second = Check("echo one", {}), Check("echo two", {})
    results = verifier.verify_all([first, second, first])
    assert [r.command for r in results] == ["echo one", "echo two", "echo one"]
    assert all(r.passed for r in results) and verifier.sandbox_runs == 2  # the repeat ran once
