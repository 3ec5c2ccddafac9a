"""The bench: matrix, resume after SIGKILL, taint rules, reports, CI gate."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from skvm_core.bench.orchestrator import Bench, BenchPlan, RunRecord
from skvm_core.bench.report import build_report, mean_interval, pass_at_k, to_markdown
from skvm_core.bench.sessions import load_session
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.llm.types import Usage
from skvm_core.profile.runner import store_tcp
from skvm_core.profile.tcp import TCP
from skvm_core.store.workspace import Workspace
from tests.conftest import SAMPLE_SKILLS

ROOT = Path(__file__).resolve().parent.parent
TASKS = [
    str(SAMPLE_SKILLS / "tasks" / name)
    for name in ("csv-count-status", "log-unique-ips", "invoice-three")
]


def test_bench_killed_mid_way_resumes_without_repeating_runs(tmp_path):
    total = len(TASKS) * 2 * 2
    command = [
        sys.executable,
        str(ROOT / "tests" / "bench_child.py"),
        str(tmp_path / "ws"),
        ",".join(TASKS),
        "s1",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    victim = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    seen = 0
    for line in victim.stdout:
        seen += line.startswith("done")
        if seen == 5:
            victim.send_signal(signal.SIGKILL)
            break
    victim.wait(timeout=60)
    stored = len(load_session(Workspace(tmp_path / "ws"), "s1").records)
    assert 5 <= stored < total
    resumed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"executed {total - stored} reused {stored}" in resumed.stdout
    assert len(load_session(Workspace(tmp_path / "ws"), "s1").records) == total


def by_skill(messages, tools):
    """Solves csv-count-status only when the skill is in the prompt; otherwise answers badly."""
    has_skill = "# Skill:" in messages[0]["content"]
    if messages[-1]["role"] == "tool":
        return ScriptedTurn(text="done")
    if has_skill:
        counts = json.dumps({"open": 6, "closed": 8, "pending": 6})
        return ScriptedTurn(
            tool_calls=[
                ScriptedCall(
                    name="write_file", arguments={"path": "counts.json", "content": counts}
                )
            ]
        )
    return ScriptedTurn(
        tool_calls=[
            ScriptedCall(name="write_file", arguments={"path": "counts.json", "content": "{}"})
        ]
    )


async def test_matrix_conditions_and_paired_deltas(tmp_path):
    workspace = Workspace(tmp_path)
    target = register_scripted(ScriptedModel(by_skill), name="bench-by-skill")
    store_tcp(
        TCP(
            model=target,
            profiledAt="2026-01-01T00:00:00.000Z",
            capabilities={"follow.format": "L1", "gen.code.python": "L1"},
        ),
        workspace,
    )
    plan = BenchPlan(
        session="m",
        tasks=[TASKS[0]],
        targets=[target],
        conditions=["no-skill", "original", "compiled"],
        runs=2,
        concurrency=3,
    )
    records = await Bench(plan, workspace).run()
    assert len(records) == 6 and all(r.status == "ok" for r in records)
    report = build_report("m", records)
    cells = {c.condition: c for c in report.cells}
    assert (
        cells["no-skill"].pass_rate == 0
        and cells["original"].pass_rate == 1
        and cells["compiled"].pass_rate == 1
    )
    assert cells["original"].pass_at_k == {"pass@1": 1.0, "pass@2": 1.0}
    delta = {(d.base, d.other): d for d in report.deltas}[("no-skill", "original")]
    assert delta.mean_delta > 0.5 and delta.wins == 1
    markdown = to_markdown(report)
    assert "| compiled |" in markdown and "Paired deltas" in markdown
    assert f"## Per task · {target}" in markdown
    assert "| csv-count-status | 0.00 (0/2) | 1.00 (2/2) | 1.00 (2/2) |" in markdown
    (row,) = report.tasks
    assert row.scores == {"no-skill": 0.0, "original": 1.0, "compiled": 1.0}


async def test_tainted_runs_are_listed_not_averaged(tmp_path):
    failing = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(fault="server_error")), name="bench-down"
    )
    plan = BenchPlan(
        session="t", tasks=[TASKS[0]], targets=[failing], conditions=["no-skill"], runs=1
    )
    from skvm_core.agent.trace import read_trace

    records = await Bench(plan, Workspace(tmp_path)).run()
    (record,) = records
    assert record.status == "infra-error" and record.tainted
    cell = build_report("t", records).cells[0]
    assert cell.graded == 0 and len(cell.tainted) == 1 and math.isnan(cell.pass_rate)
    # It retried (each retry is in the trace) before giving up.
    retries = [e for e in read_trace(record.trace) if e.type == "error" and e.kind == "retry"]
    assert len(retries) == 3


def test_statistics():
    assert pass_at_k(5, 0, 1) == 0.0 and pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(4, 2, 1) == pytest.approx(0.5)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)
    mean, low, high = mean_interval([0.0, 1.0, 1.0, 1.0])
    assert mean == 0.75 and 0.0 <= low < mean < high <= 1.0
    records = [
        RunRecord(
            task_id="a",
            target="m",
            condition="original",
            run=0,
            status="ok",
            score=1,
            passed=True,
            usage=Usage(input=10, output=5),
            cost_usd=None,
        )
    ]
    assert build_report("x", records).cells[0].cost_usd is None  # unknown price is never a fake 0


def test_check_gate_exit_codes(tmp_path):
    good = tmp_path / "good.json"
    counts = json.dumps({"open": 6, "closed": 8, "pending": 6})
    good.write_text(
        json.dumps(
            {
                "turns": [
                    {
                        "tool_calls": [
                            {
                                "name": "write_file",
                                "arguments": {"path": "counts.json", "content": counts},
                            }
                        ]
                    },
                    {"text": "done"},
                ]
            }
        )
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"turns": [{"text": "no"}] * 3}))  # answers each reminder too

    def check(model: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "skvm_core.cli", "check", "--skill", str(SAMPLE_SKILLS / "csv-report"), "--target", f"scripted/{model}", "--tasks", TASKS[0], "--condition", "original", "--min-pass-rate", "0.5"],
            capture_output=True, text=True, cwd=ROOT, env=os.environ, timeout=300,
        )  # fmt: skip

    passing, failing = check(good), check(bad)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert failing.returncode == 1 and "pass rate 0.00" in failing.stdout


async def test_report_merges_sessions_and_names_unreadable_records(tmp_path):
    home = Path(os.environ["SKVM_HOME"])
    workspace = Workspace(home)
    for name, session in (("bench-merge-a", "sa"), ("bench-merge-b", "sb")):
        target = register_scripted(ScriptedModel(by_skill), name=name)
        plan = BenchPlan(
            session=session, tasks=[TASKS[0]], targets=[target], conditions=["no-skill", "original"]
        )
        await Bench(plan, workspace).run()
    broken = next((home / "bench" / "sb" / "runs").rglob("run-0.json"))
    broken.write_text("{")
    out = tmp_path / "sample"
    result = subprocess.run(
        [sys.executable, "-m", "skvm_core.cli", "bench", "report", "sa", "sb", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=os.environ, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "unreadable run record left out" in result.stdout
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# Bench sa + sb")
    assert "scripted/bench-merge-a | original" in markdown
    assert (
        "scripted/bench-merge-b | no-skill" in markdown
        or "scripted/bench-merge-b | original" in markdown
    )
    report = json.loads((out / "report.json").read_text())
    assert sum(c["runs"] for c in report["cells"]) == 3


async def test_plan_judge_model_and_seeded_sampling_reach_every_run(tmp_path):
    """The plan's judge scores llm-judge criteria (usage kept apart); each repeat gets its
    own seed at the plan's temperature, so repeats can differ and re-runs reproduce."""
    task_dir = tmp_path / "judged"
    task_dir.mkdir()
    (task_dir / "task.json").write_text(
        json.dumps(
            {
                "id": "judged",
                "prompt": "Write a haiku to poem.txt",
                "eval": [{"method": "llm-judge", "rubric": "Is it a haiku?"}],
            }
        )
    )
    judge = register_scripted(
        ScriptedModel(
            lambda m, t: ScriptedTurn(
                tool_calls=[
                    ScriptedCall(name="submit_score", arguments={"score": 1.0, "reasoning": "ok"})
                ]
            )
        ),
        name="bench-judge",
    )
    target = register_scripted(
        ScriptedModel(lambda m, t: ScriptedTurn(text="done")), name="bench-seeded"
    )
    plan = BenchPlan(
        session="j", tasks=[str(task_dir)], targets=[target], conditions=["no-skill"], runs=2,
        judge_model=judge, temperature=0.5,
    )  # fmt: skip
    records = await Bench(plan, Workspace(tmp_path / "ws")).run()
    assert all(r.passed and r.judge_usage.input > 0 for r in records)
    assert all(r.usage.input > 0 and r.usage.input != r.judge_usage.input for r in records)
    from skvm_core.agent.trace import read_trace

    sampling = sorted(
        (e.limits["temperature"], e.limits["seed"])
        for r in records
        for e in read_trace(r.trace)
        if e.type == "run_started"
    )
    assert sampling == [(0.5, 0), (0.5, 1)]


def test_bench_list_shows_sessions_with_progress(tmp_path):
    home = Path(os.environ["SKVM_HOME"])
    folder = home / "bench" / "s-listed"
    folder.mkdir(parents=True)
    plan = BenchPlan(
        session="s-listed", tasks=TASKS, targets=["m"], conditions=["no-skill"], runs=2
    )
    (folder / "plan.json").write_text(plan.model_dump_json())
    listed = subprocess.run(
        [sys.executable, "-m", "skvm_core.cli", "bench", "list"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "160"}, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0 and "s-listed" in listed.stdout and "0/6 …" in listed.stdout


def test_resuming_an_unknown_session_is_a_clear_error():
    resumed = subprocess.run(
        [sys.executable, "-m", "skvm_core.cli", "bench", "--resume", "no-such-session"],
        capture_output=True, text=True, cwd=ROOT, env=os.environ, timeout=60,
    )  # fmt: skip
    assert resumed.returncode == 2 and "no bench session 'no-such-session'" in resumed.stderr
    assert "Traceback" not in resumed.stderr


def test_a_compiled_by_condition_names_its_compiler_model(tmp_path):
    from skvm_core.bench.conditions import condition_label, resolve_condition
    from skvm_core.bench.orchestrator import record_path

    assert callable(resolve_condition("compiled:local/qwen2.5-coder-1.5b@code-act"))
    assert (
        condition_label("compiled:local/qwen2.5-coder-1.5b") == "compiled:local/qwen2.5-coder-1.5b"
    )
    path = record_path(tmp_path, "t", "local/m", "compiled:local/qwen2.5-coder-1.5b", 0)
    assert path.parent.parent == tmp_path / "runs" / "t" / "local--m"
    from skvm_core.errors import SkvmError

    with pytest.raises(SkvmError):
        resolve_condition("compiled:")


def test_compiled_is_the_compilers_output_and_accepted_is_its_own_condition(tmp_path):
    """A proposal a person accepted never passes as the compiler's output in a bench."""
    from skvm_core.bench.conditions import ConditionContext, resolve_condition
    from skvm_core.optimize.proposals import Proposal, ProposalStore, Scores
    from skvm_core.profile.store import BUNDLED
    from skvm_core.profile.tcp import load_tcp
    from skvm_core.run.task import load_task
    from skvm_core.store.workspace import Workspace
    from tests.conftest import SAMPLE_SKILLS

    target = "local/qwen2.5-coder-0.5b"
    workspace = Workspace(tmp_path / "ws")
    task = load_task(SAMPLE_SKILLS / "tasks" / "csv-count-status")
    variant = tmp_path / "accepted"
    variant.mkdir()
    (variant / "SKILL.md").write_text(
        "---\nname: csv-report\ndescription: Accepted by a person.\n---\n\n# Accepted\n"
    )
    store = ProposalStore(workspace)
    scores = Scores(tasks=1, runs=1, mean=1.0, low=1.0, high=1.0, pass_rate=1.0)
    proposal = store.create(
        Proposal(id="20261202-000000-csv-report-aa00", skill="csv-report", target=target,
                 created=0, source="test", before=scores, after=scores, base_text=""),
        variant,
    )  # fmt: skip
    store.accept(proposal.id)
    tcp = load_tcp(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")
    ctx = ConditionContext(workspace, lambda _name: tcp, None)
    compiled = resolve_condition("compiled")(task, target, ctx)
    accepted = resolve_condition("accepted")(task, target, ctx)
    assert "Accepted by a person." not in (compiled.root / "SKILL.md").read_text()
    assert "Accepted by a person." in (accepted.root / "SKILL.md").read_text()


def test_a_bench_through_provider_faults_ends_without_leftover_task_warnings(tmp_path):
    """Retried faults, a malformed tool call and concurrent runs: the process ends with its
    report and nothing on stderr about tasks left pending or exceptions never retrieved."""
    model = tmp_path / "faulty.json"
    faults = ["timeout", "server_error", "rate_limit", "connection", "malformed_tool_call"]
    turns = [t for fault in faults for t in ({"fault": fault}, {"text": "done"})]
    model.write_text(json.dumps({"turns": turns * 2}))
    done = subprocess.run(
        [sys.executable, "-m", "skvm_core.cli", "bench", "--tasks", ",".join(TASKS[:2]), "--targets", f"scripted/{model}", "--conditions", "no-skill", "--runs", "2", "--concurrency", "2"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "SKVM_HOME": str(tmp_path / "ws")}, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "reports:" in done.stdout
    for leftover in ("Task was destroyed", "never retrieved", "Traceback", "Unclosed"):
        assert leftover not in done.stderr, done.stderr


def test_the_loaded_skill_rate_is_a_column_only_where_runs_recorded_it(tmp_path):
    from skvm_core.agent.result import AgentStep, RunResult, ToolStep
    from skvm_core.bench.orchestrator import RunRecord, _skill_loaded
    from skvm_core.bench.report import build_report, to_markdown
    from skvm_core.llm.types import ToolCall
    from skvm_core.skill import load_skill

    folder = tmp_path / "row-count"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: row-count\ndescription: Count rows. Use when asked to count rows.\n---\n\nCount the rows with wc.\n"
    )
    skill = load_skill(folder)

    def harness_run(output: str) -> RunResult:
        call = ToolCall(id="1", name="skill", arguments={"name": "row-count"})
        step = AgentStep(index=1, tools=[ToolStep(call=call, output=output, ok=True)])
        return RunResult(run_id="r", model="m", status="ok", steps=[step], work_dir=tmp_path)

    # An external harness records nothing itself: the converted steps say it.
    assert _skill_loaded(harness_run("Count the rows with wc."), skill) is True
    assert _skill_loaded(harness_run("no such skill"), skill) is False
    assert _skill_loaded(harness_run("x"), None) is None

    def rec(condition, loaded):
        return RunRecord(task_id="t", target="m", condition=condition, run=0, status="ok",
                         score=1.0, passed=True, skill_loaded=loaded)  # fmt: skip

    old = to_markdown(build_report("s", [rec("original", None)]))
    assert "loaded skill" not in old  # reports from records without it rebuild unchanged
    new = build_report("s", [rec("original+opencode", False), rec("compiled+opencode", True)])
    text = to_markdown(new)
    assert "| loaded skill |" in text
    rates = {c.condition: c.loaded_rate for c in new.cells}
    assert rates == {"original+opencode": 0.0, "compiled+opencode": 1.0}
