"""OpenCode (`opencode-ai` on npm): `opencode run --format json`, our server configured as
an OpenAI-compatible provider (Chat Completions) in the project's `opencode.json`."""

from __future__ import annotations

from pathlib import Path

from skvm_core.agent.result import RunLimits
from skvm_core.harness.external import SERVED_NAME, ExternalHarness, write_json
from skvm_core.harness.transcript import OpenCodeTranscript

PROVIDER = "skvm"
CONTEXT_TOKENS = 32_768


class OpenCodeHarness(ExternalHarness):
    name = "opencode"
    skills_folder = ".opencode/skills"
    transcript_class = OpenCodeTranscript

    def configure(self, home: Path, work_dir: Path, base_url: str, limits: RunLimits) -> None:
        config = {
            "$schema": "https://opencode.ai/config.json",
            "provider": {
                PROVIDER: {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "SkVM",
                    # No client-side timeout: a long prompt on a CPU takes minutes; the
                    # run's own time limit ends a stuck run.
                    "options": {"baseURL": base_url, "apiKey": "unused", "timeout": False},
                    "models": {
                        SERVED_NAME: {
                            "name": SERVED_NAME,
                            "limit": {
                                "context": CONTEXT_TOKENS,
                                "output": max(limits.max_output_tokens, 2048),
                            },
                        }
                    },
                }
            },
            "model": f"{PROVIDER}/{SERVED_NAME}",
            "small_model": f"{PROVIDER}/{SERVED_NAME}",
            "autoupdate": False,
            "share": "disabled",
            # Non-interactive: nothing may wait for an approval that never comes.
            "permission": {"edit": "allow", "bash": "allow", "webfetch": "deny"},
        }
        # The global config in the private home: the project folder stays the task's own.
        write_json(home / ".config" / "opencode" / "opencode.json", config)

    def command(self, cli: Path, prompt: str, work_dir: Path) -> list[str]:
        return [str(cli), "run", "--format", "json", "-m", f"{PROVIDER}/{SERVED_NAME}", prompt]
