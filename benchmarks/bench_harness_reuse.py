"""Prompt reuse across runs in an external harness, on an embedded model.

OpenCode and Codex CLI write the work folder and their home into their 6–7k-token system
prompts. Confined in our sandbox they see the same paths on every run, so the second run
of a skill starts from the first run's saved prompt state; seen at their host paths (as
they were before), every run differs and the whole prompt is evaluated again. Measured side
by side in one process: two runs each way, each in a fresh work folder, and for each the
first model turn's prompt tokens, how many came from a saved state, and its latency.

Needs the harness CLIs (`make harnesses`), bubblewrap and the local model files; a harness
missing any of them is skipped. `SKVM_BENCH_MODEL` picks the model (default the 0.5B).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

from benchmarks._util import report

MODEL = os.environ.get("SKVM_BENCH_MODEL", "local/qwen2.5-coder-0.5b")
# One short turn: the first turn carries the whole harness prompt, the rest is noise.
PROMPT = "Reply with the single word READY and do nothing else."


def _first_turn(folder: Path) -> dict:
    calls = [json.loads(line) for line in (folder / "model-calls.jsonl").read_text().splitlines()]
    first = next(call for call in calls if call["tools"] and call["usage"])
    return {"input": first["usage"]["input"], "cached": first["usage"]["cache_read"], **first}


async def _two_runs(harness, root: Path, label: str) -> list[dict]:
    from skvm_core.agent.result import RunLimits

    turns = []
    for index in range(2):
        folder = root / f"{label}-{index}"
        await harness.run(
            MODEL,
            PROMPT,
            folder / "work",
            None,
            RunLimits(timeout_s=900, temperature=0.0),
            run_id=f"{label}-{index}",
            trace_path=folder / "trace.jsonl",
        )
        turns.append(_first_turn(folder))
    return turns


def _skip_reason(name: str) -> str | None:
    from skvm_core.agent.sandbox import sandbox_mode
    from skvm_core.harness.install import binary_path

    if not binary_path(name).exists():
        return "CLI not installed (make harnesses)"
    if sandbox_mode().kind != "bubblewrap":
        return "bubblewrap unavailable: no stable paths"
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return "local extra not installed"
    return None


def harness_reuse(name: str) -> list[dict]:
    from skvm_core.harness import get_harness

    if reason := _skip_reason(name):
        return [report(f"harness prompt reuse ({name})", "skipped", reason, None)]
    stable = get_harness(name)
    host_paths = type(f"HostPaths{type(stable).__name__}", (type(stable),), {"confine": False})()
    with tempfile.TemporaryDirectory(prefix="skvm-reuse-") as root:
        runs = {
            "stable paths": asyncio.run(_two_runs(stable, Path(root), "stable")),
            "host paths": asyncio.run(_two_runs(host_paths, Path(root), "host")),
        }
    rows = []
    for label, (first, second) in runs.items():
        ratio = second["latency_ms"] / first["latency_ms"]
        value = (
            f"2nd run {second['cached']}/{second['input']} cached, "
            f"{second['latency_ms'] / 1000:.0f}/{first['latency_ms'] / 1000:.0f} s = {ratio:.2f}x"
        )
        target = "<= 0.3x" if label == "stable paths" else "(was)"
        ok = ratio <= 0.3 if label == "stable paths" else None
        rows.append(report(f"{name} first turn, {label}", value, target, ok))
    return rows


def run() -> list[dict]:
    return [row for name in ("opencode", "codex") for row in harness_reuse(name)]


if __name__ == "__main__":
    run()
