"""The `skvm` command as a user runs it: a real subprocess."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def skvm(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skvm_core.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_help_lists_commands():
    result = skvm("--help")
    assert result.returncode == 0
    for command in ("catalog", "doctor", "models", "skill", "workbench"):
        assert command in result.stdout


def test_errors_print_without_traceback(tmp_path):
    result = skvm("skill", "check", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr


def test_invalid_config_is_reported_cleanly(tmp_path):
    (tmp_path / "skvm.toml").write_text("concurrency = -1\n")
    result = skvm("config", "show", cwd=tmp_path)
    assert (
        result.returncode == 2
        and "concurrency" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_skill_check_reports_findings_and_exit_code(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: Bad_Name\ndescription: d\n---\nbody\n")
    result = skvm("skill", "check", str(folder))
    assert result.returncode == 1 and "name-shape" in result.stdout
    assert skvm("skill", "check", str(ROOT / "sample_skills" / "csv-report")).returncode == 0


def test_doctor_names_keys_but_never_values():
    result = skvm("doctor", env={"ANTHROPIC_API_KEY": "sk-very-secret-value"})
    assert "ANTHROPIC_API_KEY" in result.stdout
    assert "sk-very-secret-value" not in result.stdout
    assert "sandbox" in result.stdout
