"""Agent harnesses a skill runs in: our bare agent, OpenCode, Codex CLI, Claude Code, pi."""

from __future__ import annotations

from skvm_core.errors import SkvmError
from skvm_core.harness.base import BareHarness, HarnessAdapter

HARNESSES: tuple[str, ...] = ("bare", "opencode", "codex", "claude-code", "pi")


def get_harness(name: str | None) -> HarnessAdapter:
    name = name or "bare"
    if name == "bare":
        return BareHarness()
    if name == "opencode":
        from skvm_core.harness.opencode import OpenCodeHarness

        return OpenCodeHarness()
    if name == "codex":
        from skvm_core.harness.codex import CodexHarness

        return CodexHarness()
    if name == "claude-code":
        from skvm_core.harness.claude_code import ClaudeCodeHarness

        return ClaudeCodeHarness()
    if name == "pi":
        from skvm_core.harness.pi import PiHarness

        return PiHarness()
    raise SkvmError(
        f"unknown harness {name!r}",
        hint=f"use one of: {', '.join(HARNESSES)}",
    )


def split_target(target: str) -> tuple[str, str]:
    """`local/qwen2.5-coder-1.5b+opencode` → (the model, `opencode`): a target as a model
    in a harness (the workbench's tabs); a plain model id runs in our own agent."""
    model, sep, harness = target.rpartition("+")
    if sep and harness in HARNESSES:
        return model, harness
    return target, "bare"


__all__ = ["HARNESSES", "HarnessAdapter", "get_harness", "split_target"]
