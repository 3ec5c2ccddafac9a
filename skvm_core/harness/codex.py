"""Codex CLI (`@openai/codex` on npm): `codex exec --json`, our server configured as a
model provider speaking the Responses API (`wire_api = "responses"`) in a private
CODEX_HOME."""

from __future__ import annotations

from pathlib import Path

from skvm_core.agent.result import RunLimits
from skvm_core.harness.external import SERVED_NAME, ExternalHarness
from skvm_core.harness.transcript import CodexTranscript
from skvm_core.store.atomic import atomic_write_text

CONTEXT_TOKENS = 32_768


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class CodexHarness(ExternalHarness):
    name = "codex"
    skills_folder = ".agents/skills"
    transcript_class = CodexTranscript
    own_sandbox = True  # workspace-write: its commands may write only the work folder

    def configure(self, home: Path, work_dir: Path, base_url: str, limits: RunLimits) -> None:
        lines = [
            f"model = {_toml_string(SERVED_NAME)}",
            'model_provider = "skvm"',
            f"model_context_window = {CONTEXT_TOKENS}",
            'approval_policy = "never"',
            'sandbox_mode = "workspace-write"',
            # A login shell resets PATH from /etc/profile; commands keep the one we set.
            "allow_login_shell = false",
            "",
            "[model_providers.skvm]",
            'name = "SkVM"',
            f"base_url = {_toml_string(base_url)}",
            'wire_api = "responses"',
            # Our server answers once; retries belong to the model client behind it.
            "request_max_retries = 0",
            "stream_max_retries = 0",
            f"stream_idle_timeout_ms = {int(limits.timeout_s * 1000)}",
            "",
        ]
        atomic_write_text(home / "config.toml", "\n".join(lines))

    def environment(self, home: Path) -> dict[str, str]:
        env = super().environment(home)
        env["CODEX_HOME"] = str(home)
        return env

    def command(self, cli: Path, prompt: str, work_dir: Path) -> list[str]:
        return [
            str(cli),
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--cd",
            str(work_dir),
            prompt,
        ]
