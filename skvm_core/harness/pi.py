"""pi coding agent (`@mariozechner/pi-coding-agent` on npm): `pi -p --mode json`, our server
as a custom OpenAI-compatible provider (Chat Completions) in a private `models.json`,
startup network and telemetry off, skills in the project's `.pi/skills/`, which pi lists in
its system prompt for the model to `read`."""

from __future__ import annotations

from pathlib import Path

from skvm_core.agent.result import RunLimits
from skvm_core.harness.external import SERVED_NAME, ExternalHarness, write_json
from skvm_core.harness.transcript import PiTranscript

PROVIDER = "skvm"
CONTEXT_TOKENS = 32_768
# pi's four default tools; its read-only extras (grep, find, ls) stay off, as pi ships them.
TOOLS = ("read", "bash", "edit", "write")


class PiHarness(ExternalHarness):
    name = "pi"
    skills_folder = ".pi/skills"
    transcript_class = PiTranscript
    tool_names = TOOLS

    def configure(self, home: Path, work_dir: Path, base_url: str, limits: RunLimits) -> None:
        models = {
            "providers": {
                PROVIDER: {
                    "baseUrl": base_url,
                    "api": "openai-completions",
                    "apiKey": "unused",
                    # Our models read one leading system message and take no reasoning effort.
                    "compat": {"supportsDeveloperRole": False, "supportsReasoningEffort": False},
                    "models": [
                        {
                            "id": SERVED_NAME,
                            "name": "SkVM",
                            "contextWindow": CONTEXT_TOKENS,
                            "maxTokens": max(limits.max_output_tokens, 2048),
                            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                        }
                    ],
                }
            }
        }
        write_json(home / ".pi" / "agent" / "models.json", models)

    def environment(self, home: Path) -> dict[str, str]:
        env = super().environment(home)
        env.update(
            PI_OFFLINE="1", PI_TELEMETRY="0", PI_CODING_AGENT_DIR=str(home / ".pi" / "agent")
        )
        return env

    def command(self, cli: Path, prompt: str, work_dir: Path) -> list[str]:
        return [
            str(cli),
            "-p",
            "--mode",
            "json",
            "--provider",
            PROVIDER,
            "--model",
            SERVED_NAME,
            "--tools",
            ",".join(self.tool_names),
            "--no-extensions",
            "--no-session",
            prompt,
        ]
