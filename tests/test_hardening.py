"""Hostile inputs around the agent's tools: special files, huge files, blocking tools."""

import os
import pathlib
import shutil
import socket
import tracemalloc

import pytest

from skvm_core.agent.result import RunLimits
from skvm_core.agent.tools import TOOLS, ToolContext, call_tool
from skvm_core.profile.store import BUNDLED
from tests.conftest import SAMPLE_SKILLS
from tests.harness_helpers import call, scripted_run, turn


async def _tool(tmp_path, name, **arguments):
    return await call_tool(name, TOOLS[name][1], ToolContext(work_dir=tmp_path), arguments)


@pytest.mark.parametrize("tool", ["read_file", "write_file"])
async def test_a_fifo_is_refused_not_waited_on(tmp_path, tool):
    os.mkfifo(tmp_path / "pipe")
    outcome = await _tool(tmp_path, tool, path="pipe", content="x")
    assert not outcome.ok and "not a regular file" in outcome.output


@pytest.mark.parametrize("tool", ["read_file", "write_file"])
async def test_a_socket_is_refused(tmp_path, tool):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    try:
        outcome = await _tool(tmp_path, tool, path="sock", content="x")
    finally:
        server.close()
    assert not outcome.ok and "regular file" in outcome.output


async def test_a_device_linked_into_the_folder_is_refused(tmp_path):
    (tmp_path / "zero").symlink_to("/dev/zero")  # the link leaves the folder: refused
    outcome = await _tool(tmp_path, "read_file", path="zero")
    assert not outcome.ok


async def test_reading_a_300_mb_file_keeps_memory_bounded(tmp_path):
    big = tmp_path / "big.log"
    with big.open("wb") as handle:  # sparse: no disk used, 300 MB to read
        handle.truncate(300 * 1024 * 1024)
    tracemalloc.start()
    outcome = await _tool(tmp_path, "read_file", path="big.log")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert outcome.ok and "binary" in outcome.output
    assert peak < 8 * 1024 * 1024, peak


async def test_paging_through_a_long_text_file(tmp_path):
    (tmp_path / "lines.txt").write_text("".join(f"line {i}\n" for i in range(1, 5001)))
    first = await _tool(tmp_path, "read_file", path="lines.txt", limit=10)
    assert first.output.startswith("line 1\n") and "offset=11" in first.output
    later = await _tool(tmp_path, "read_file", path="lines.txt", offset=4999)
    assert later.output == "line 4999\nline 5000\n" and not later.truncated


async def test_the_run_timeout_holds_while_a_command_blocks(tmp_path):
    result, _ = await scripted_run(
        tmp_path,
        turn(call("execute_command", command="sleep 60")),
        turn(text="never"),
        limits=RunLimits(timeout_s=2, command_timeout_s=120, nudge_without_tools=False),
    )
    assert result.status == "timeout"


async def test_limits_cannot_be_raised_by_the_command(tmp_path):
    from skvm_core.agent.sandbox import FILE_SIZE_LIMIT_KB, MEMORY_LIMIT_KB, run_command

    result = await run_command(
        "ulimit -H -v; ulimit -H -f; ulimit -v unlimited && echo raised-v; ulimit -f unlimited && echo raised-f",
        tmp_path,
    )
    lines = result.stdout.split()
    assert lines[:2] == [str(MEMORY_LIMIT_KB), str(FILE_SIZE_LIMIT_KB)]
    assert "raised-v" not in lines and "raised-f" not in lines


def test_root_only_files_under_etc_are_hidden_in_the_sandbox():
    from skvm_core.agent.sandbox import hidden_paths

    files, _ = hidden_paths()
    for name in ("/etc/shadow", "/etc/shadow-", "/etc/gshadow-"):
        if os.path.exists(name):
            assert name in files


@pytest.mark.skipif(
    not os.path.exists("/etc/shadow-"), reason="no /etc/shadow- backup on this host"
)
async def test_a_shadow_backup_is_unreadable_inside_bubblewrap(tmp_path):
    from skvm_core.agent.sandbox import run_command, sandbox_mode

    if sandbox_mode().kind != "bubblewrap":
        pytest.skip("needs bubblewrap")
    result = await run_command("cat /etc/shadow- /etc/gshadow-; echo end", tmp_path)
    assert result.stdout.strip() == "end"  # nothing of either file came through


# --- graders treat the work folder as hostile ---------------------------------------

GRADE = """
def grade(transcript, workspace):
    import os
    found = os.path.exists(os.path.join(workspace, "out.txt"))
    return [{"id": "out", "score": 1.0 if found else 0.0, "weight": 1.0}]
"""


async def test_the_python_grader_never_writes_through_a_planted_link(tmp_path):
    from skvm_core.agent.result import RunResult
    from skvm_core.run.graders import evaluate
    from tests.test_tasks_and_graders import make_task

    host = tmp_path / "host"
    host.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "out.txt").write_text("x")
    (work / ".skvm-grade").symlink_to(host)  # what an agent can do with one command
    task = load_task_at(
        make_task(tmp_path, {"eval": [{"method": "python-grade"}]}, extra={"grade.py": GRADE})
    )
    run = RunResult(run_id="r", model="m", status="ok", work_dir=work)
    score = await evaluate(task, run)
    assert score.passed, score.results[0].details
    assert list(host.iterdir()) == []  # nothing was written into the host folder


def load_task_at(folder):
    from skvm_core.run.task import load_task

    return load_task(folder)


@pytest.mark.parametrize("criterion", [{"path": "out.json"}, {"glob": "*.json"}])
async def test_file_checks_do_not_read_host_files_through_links(tmp_path, criterion):
    from skvm_core.agent.result import RunResult
    from skvm_core.run.graders import evaluate
    from tests.test_tasks_and_graders import make_task

    secret = tmp_path / "secret.json"
    secret.write_text('{"token": "host-secret-value"}')
    work = tmp_path / "work"
    work.mkdir()
    (work / "out.json").symlink_to(secret)
    check = {"method": "file-check", "mode": "contains", "expected": "host-secret", **criterion}
    task = load_task_at(make_task(tmp_path, {"eval": [check]}))
    score = await evaluate(task, RunResult(run_id="r", model="m", status="ok", work_dir=work))
    assert not score.passed and "host-secret" not in score.model_dump_json()


async def test_judge_inputs_skip_links_and_fifos(tmp_path):
    from skvm_core.run.judge import work_files

    secret = tmp_path / "secret.txt"
    secret.write_text("host-secret-value")
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("agent output")
    (work / "leak.txt").symlink_to(secret)
    (work / "linked").symlink_to(tmp_path)
    os.mkfifo(work / "pipe.txt")
    text = work_files(work)
    assert "agent output" in text and "host-secret" not in text


# --- never delete unasked -------------------------------------------------------------


def _compile_cli(capsys, *extra):
    from tests.test_bad_input import run_cli

    skill = str(SAMPLE_SKILLS / "csv-report")
    profile = str(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")
    return run_cli(
        capsys,
        "compile",
        "--skill",
        skill,
        "--target",
        "local/qwen2.5-coder-0.5b",
        "--profile",
        profile,
        *extra,
    )


def test_compile_out_refuses_a_foreign_folder_unless_forced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    code, text = _compile_cli(capsys, "--out", str(out))
    assert code == 2 and "--force" in text and (out / "thesis.tex").read_text() == "years of work"
    code, _ = _compile_cli(capsys, "--out", str(out), "--force")
    assert code == 0 and (out / "SKILL.md").is_file()
    code, _ = _compile_cli(capsys, "--out", str(out))  # now a variant we wrote: replaced freely
    assert code == 0


@pytest.mark.parametrize("where", ["file", "skill", "parent"])
def test_compile_out_never_replaces_a_file_or_the_skill(tmp_path, capsys, where):
    import shutil

    skill = tmp_path / "skills" / "csv-report"
    shutil.copytree(SAMPLE_SKILLS / "csv-report", skill)
    target = {"file": tmp_path / "notes.txt", "skill": skill, "parent": skill.parent}[where]
    if where == "file":
        target.write_text("keep")
    from tests.test_bad_input import run_cli

    profile = str(BUNDLED / "bare-agent" / "local--qwen2.5-coder-0.5b" / "latest.json")
    code, _ = run_cli(
        capsys,
        "compile",
        "--skill",
        str(skill),
        "--target",
        "local/qwen2.5-coder-0.5b",
        "--profile",
        profile,
        "--out",
        str(target),
        "--force",
    )
    assert code == 2 and (skill / "SKILL.md").is_file()
    if where == "file":
        assert target.read_text() == "keep"


def test_an_import_replaces_only_tasks_it_wrote(tmp_path):
    import json

    from skvm_core.bench.imported import replaceable as _replaceable

    mine = tmp_path / "imported"
    mine.mkdir()
    (mine / "task.json").write_text(json.dumps({"id": "x", "origin": {"source": "pinchbench"}}))
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.md").write_text("keep")
    assert _replaceable(tmp_path / "new") and _replaceable(mine)
    assert not _replaceable(theirs)


# --- names from files are not paths ---------------------------------------------------


@pytest.mark.parametrize("task_id", ["../../x", "a/b", "..", ".hidden", ""])
def test_path_like_task_ids_are_refused(tmp_path, task_id):
    import json

    from skvm_core.run.task import TaskError, load_task

    (tmp_path / "task.json").write_text(json.dumps({"id": task_id, "prompt": "p"}))
    with pytest.raises(TaskError):
        load_task(tmp_path)


@pytest.mark.parametrize("harness", ["..", "../x", "a/b"])
def test_path_like_profile_harness_is_refused(tmp_path, harness):
    import json

    from skvm_core.profile.tcp import ProfileError, load_tcp

    path = tmp_path / "p.json"
    path.write_text(
        json.dumps({"version": "1.0", "model": "m", "harness": harness, "profiledAt": "x"})
    )
    with pytest.raises(ProfileError):
        load_tcp(path)


@pytest.mark.parametrize("model", ["..", "../../etc", "a/../../b", "x\\0y", "."])
def test_model_names_become_one_safe_folder_name(model):
    from skvm_core.profile.runner import slug

    name = slug(model)
    assert "/" not in name and name not in (".", "..") and "\0" not in name


def test_two_tasks_with_one_id_in_a_bench_are_an_error(tmp_path):
    import json
    import shutil

    from skvm_core.bench.orchestrator import Bench, BenchPlan
    from skvm_core.errors import SkvmError
    from skvm_core.store.workspace import Workspace

    for name in ("a", "b"):
        shutil.copytree(SAMPLE_SKILLS / "tasks" / "csv-count-status", tmp_path / name)
        data = json.loads((tmp_path / name / "task.json").read_text())
        data["skill"] = str(SAMPLE_SKILLS / "csv-report")
        (tmp_path / name / "task.json").write_text(json.dumps(data))
    plan = BenchPlan(
        session="dup", tasks=[str(tmp_path / "a"), str(tmp_path / "b")], targets=["scripted/x"]
    )
    with pytest.raises(SkvmError, match="two tasks"):
        Bench(plan, Workspace(tmp_path / "ws"))


def test_a_killed_runs_partial_folder_is_marked_and_cleaned(tmp_path):
    from skvm_core.run.runner import RUNNING_MARK, mark_interrupted_runs
    from skvm_core.store.workspace import Workspace

    workspace = Workspace(tmp_path)
    dead = workspace.run_dir("dead-run")
    (dead / "work").mkdir(parents=True)
    (dead / "work" / "half.csv").write_text("partial")
    (dead / RUNNING_MARK).write_text("999999999")  # no such process
    live = workspace.run_dir("live-run")
    (live / "work").mkdir(parents=True)
    (live / RUNNING_MARK).write_text(str(os.getpid()))
    assert mark_interrupted_runs(workspace) == [dead]
    assert (dead / "INTERRUPTED").is_file() and not (dead / "work").exists()
    assert (live / RUNNING_MARK).is_file() and (live / "work").is_dir()


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to run as another user")
def test_process_mode_hides_the_parents_environment(tmp_path):
    # An unprivileged skvm with a secret in its environment, sandboxed without namespaces:
    # its command must not read the secret from /proc of any ancestor.
    import subprocess
    import sys
    import tempfile

    work = pathlib.Path(tempfile.mkdtemp(prefix="skvm-nobody-"))  # pytest's tmp is root-only
    work.chmod(0o777)
    script = (
        "import asyncio, pathlib\n"
        "from skvm_core.agent.sandbox import run_command, SandboxMode\n"
        f"r = asyncio.run(run_command('cat /proc/$PPID/environ /proc/*/environ 2>/dev/null | tr \"\\\\0\" \"\\\\n\" | grep -c SKVM_SECRET_MARKER', pathlib.Path({str(work)!r}), mode=SandboxMode('process', reason='test')))\n"
        "print('found', r.stdout.strip() or '0')\n"
    )
    env = {"PATH": os.environ["PATH"], "SKVM_SECRET_MARKER": "sk-live-123", "HOME": str(work)}
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        timeout=120,
    )
    shutil.rmtree(work, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("found 0"), result.stdout


# --- smaller items ----------------------------------------------------------------------


def test_catalog_never_breaks_a_primitive_id_at_80_columns(capsys, monkeypatch):
    from skvm_core.catalog import load_catalog
    from tests.test_bad_input import run_cli

    monkeypatch.setenv("COLUMNS", "80")
    code, out = run_cli(capsys, "catalog")
    assert code == 0
    for primitive in load_catalog().ids():
        assert primitive in out, primitive  # whole, on one line
    code, out = run_cli(capsys, "catalog", "--json")
    assert code == 0 and len(__import__("json").loads(out)) == 26


def test_profile_import_takes_a_folder(tmp_path, capsys):
    import json

    from tests.test_bad_input import run_cli

    folder = tmp_path / "published"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.json").write_text(
            json.dumps(
                {"version": "1.0", "model": f"openai/{name}", "profiledAt": "2026-01-01T00:00:00Z"}
            )
        )
    (folder / "notes.json").write_text("[1, 2]")  # not a profile: named, not fatal
    code, out = run_cli(capsys, "profile", "import", str(folder))
    assert code == 0 and out.count("imported") == 2 and "skipped" in out


async def test_the_model_layers_start_up_is_not_part_of_the_first_run(tmp_path, monkeypatch):
    import skvm_core.agent.bare as bare

    events: list = []
    seen_when_loading: list[int] = []
    monkeypatch.setattr(bare, "preload", lambda: seen_when_loading.append(len(events)))
    await scripted_run(tmp_path, turn(text="done"), events=events)
    # The model layer was loaded once, before the run had started (no event yet), so its
    # import time falls outside the run's clock and timeout.
    assert seen_when_loading == [0] and events[0].type == "run_started"
