"""`skvm run` as a user runs it (subprocess, scripted model file)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def skvm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skvm_core.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def script(tmp_path: Path, turns: list) -> Path:
    path = tmp_path / "turns.json"
    path.write_text(json.dumps({"turns": turns}))
    return path


def test_run_passes_and_exits_zero(tmp_path):
    task = ROOT / "sample_skills" / "tasks" / "csv-count-status"
    counts = json.dumps({"open": 6, "closed": 8, "pending": 6})
    turns = script(
        tmp_path,
        [
            {
                "tool_calls": [
                    {"name": "write_file", "arguments": {"path": "counts.json", "content": counts}}
                ]
            },
            {"text": "done"},
        ],
    )
    result = skvm("run", "--task", str(task), "--model", f"scripted/{turns}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "→ write_file" in result.stdout and "PASS" in result.stdout


def test_run_fails_with_exit_one(tmp_path):
    # Answers, and again after each of the two reminders (counts.json is still missing).
    turns = script(tmp_path, [{"text": "I cannot do that"}, {"text": "still no"}, {"text": "no"}])
    result = skvm(
        "run",
        "--task",
        str(ROOT / "sample_skills" / "tasks" / "csv-count-status"),
        "--model",
        f"scripted/{turns}",
    )
    assert result.returncode == 1 and "FAIL" in result.stdout


def test_infrastructure_error_exits_two_without_traceback(tmp_path):
    turns = script(tmp_path, [{"fault": "server_error"}] * 5)
    result = skvm("run", "--prompt", "hi", "--model", f"scripted/{turns}")
    assert result.returncode == 2 and "infra-error" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_usage_errors_exit_two(tmp_path):
    assert skvm("run", "--model", "local/qwen2.5-coder-0.5b").returncode == 2
    missing_key = skvm(
        "run", "--prompt", "hi", "--model", "anthropic/claude-x", env={"ANTHROPIC_API_KEY": ""}
    )
    assert missing_key.returncode == 2 and "ANTHROPIC_API_KEY" in missing_key.stderr
    bad_task = skvm("run", "--task", str(tmp_path), "--model", "scripted/x.json")
    assert bad_task.returncode == 2 and "no such task" in bad_task.stderr


def test_trace_show_replays_a_stored_run(tmp_path):
    turns = script(
        tmp_path,
        # Answering after only a look gets one reminder (nothing was made); the run then ends.
        [
            {"tool_calls": [{"name": "list_directory", "arguments": {}}]},
            {"text": "seen"},
            {"text": "seen"},
        ],
    )
    first = skvm("run", "--prompt", "look", "--model", f"scripted/{turns}")
    assert first.returncode == 0
    (trace,) = Path(os.environ["SKVM_HOME"]).glob("runs/*/trace.jsonl")
    shown = skvm("trace", "show", str(trace))
    assert shown.returncode == 0 and "→ list_directory" in shown.stdout and "events" in shown.stdout
