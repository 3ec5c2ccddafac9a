"""Claude Code (`@anthropic-ai/claude-code` on npm): `claude -p --output-format stream-json`,
our server as its Anthropic endpoint (ANTHROPIC_BASE_URL on loopback, a dummy key, no login),
non-essential traffic and telemetry off, permissions non-interactive, skills in the
project's `.claude/skills/` where its Skill tool finds them."""

from __future__ import annotations

from pathlib import Path

from skvm_core.agent.result import RunLimits
from skvm_core.harness.external import ExternalHarness, write_json
from skvm_core.harness.transcript import ClaudeCodeTranscript

# Claude Code refuses model names it does not know; our server answers to any name, so the
# session is named as one of Claude's and served by our model.
CLAUDE_NAME = "claude-sonnet-4-5"
SIDE_NAME = "claude-haiku-4-5"  # titles and summaries: the same model serves them
# Its built-in tools for work in a folder; the rest (sub-agents, schedules, worktrees, web)
# have no use in a sandboxed run, and each one offered costs a weak model attention.
TOOLS = ("Bash", "Read", "Write", "Edit", "Skill")


class ClaudeCodeHarness(ExternalHarness):
    name = "claude-code"
    skills_folder = ".claude/skills"
    transcript_class = ClaudeCodeTranscript
    tool_names = TOOLS

    def __init__(self) -> None:
        self.base_url = ""

    def configure(self, home: Path, work_dir: Path, base_url: str, limits: RunLimits) -> None:
        self.base_url = base_url.removesuffix("/v1")  # its client adds /v1/messages
        settings = {
            "permissions": {"defaultMode": "bypassPermissions"},
            "includeCoAuthoredBy": False,
            "cleanupPeriodDays": 1,
        }
        write_json(home / ".claude" / "settings.json", settings)

    def environment(self, home: Path) -> dict[str, str]:
        env = super().environment(home)
        env.update(
            ANTHROPIC_BASE_URL=self.base_url,
            ANTHROPIC_API_KEY="sk-skvm-local-unused",
            ANTHROPIC_DEFAULT_HAIKU_MODEL=SIDE_NAME,
            ANTHROPIC_SMALL_FAST_MODEL=SIDE_NAME,
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_TELEMETRY="1",
            DISABLE_AUTOUPDATER="1",
            DISABLE_ERROR_REPORTING="1",
            # A CPU-bound local model takes minutes for its first turn.
            API_TIMEOUT_MS="3600000",
            # Outside our sandbox it would refuse to skip permissions as root.
            IS_SANDBOX="1",
        )
        return env

    def command(self, cli: Path, prompt: str, work_dir: Path) -> list[str]:
        return [
            str(cli),
            "-p",
            prompt,
            "--output-format",
            "stream-json",
            "--verbose",
            "--model",
            CLAUDE_NAME,
            "--dangerously-skip-permissions",
            "--tools",
            ",".join(self.tool_names),
        ]
