"""Fan-out against one serial run of the same per-item skill, side by side in one run.

A skill whose workflow repeats one operation for each file of a folder, 16 files, and a
scripted target with API-like latency (1–2 s a call, seeded jitter) that works the way a
target without call batching does: it lists the folder, then handles one file per turn.
Serial, that is 18 calls in one growing context; fanned out (`--parallel auto`, the API
limit), 16 sub-runs of 3 calls each, side by side. Both must write the same file. With
SKVM_BENCH_LOCAL=1 the same task also runs on the embedded 0.5B (minutes), reporting its
wall-time ratio and whether the two outputs agree.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import tempfile
import time
from pathlib import Path

from benchmarks._util import report
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.run.runner import run_task
from skvm_core.run.task import load_task
from skvm_core.store.workspace import Workspace

ITEMS = 16
TARGET = 3.2
SKILL = """---
name: line-census
description: Count the lines of every text file in a folder into one summary file. Use when asked how long each file of a folder is.
---

# Line census

## Workflow

1. List the folder the request names.
2. For each file in it, count its lines and append `NAME LINES` to `census.txt`.
3. Check that census.txt has one line per file.
"""


def _task(root: Path) -> Path:
    skill = root / "line-census"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL)
    task = root / "task"
    inbox = task / "fixtures" / "inbox"
    inbox.mkdir(parents=True)
    for index in range(ITEMS):
        (inbox / f"note-{index:02d}.txt").write_text("line\n" * (index + 1))
    spec = {
        "id": "census",
        "prompt": "How many lines has each file in inbox/? Write census.txt.",
        "skill": "../line-census",
        "eval": [
            {"method": "file-check", "path": "census.txt", "mode": "regex", "expected": "note-"}
        ],
        "maxSteps": ITEMS + 6,
        "timeoutMs": 600_000,
    }
    (task / "task.json").write_text(json.dumps(spec))
    return task


def _latency(messages) -> float:
    """1–2 s, the same for the same request in either mode."""
    key = hashlib.sha256(json.dumps(messages[-1], sort_keys=True, default=str).encode()).digest()
    return 1.0 + random.Random(key).random()


def _one_file_per_turn(messages, tools) -> ScriptedTurn:
    outputs = [m["content"] for m in messages if m["role"] == "tool"]
    wait = _latency(messages)
    if not outputs:
        call = ScriptedCall(name="execute_command", arguments={"command": "ls inbox"})
        return ScriptedTurn(tool_calls=[call], latency_s=wait)
    listed = [name for name in outputs[0].split() if name.endswith(".txt")]
    done = len(outputs) - 1
    if done < len(listed):
        name = listed[done]
        line = f'echo "{name} $(wc -l < inbox/{name})" >> census.txt'
        call = ScriptedCall(name="execute_command", arguments={"command": line})
        return ScriptedTurn(tool_calls=[call], latency_s=wait)
    return ScriptedTurn(text="census.txt is written", latency_s=wait)


async def _both(
    task_dir: Path, model: str, workspace: Workspace, fanned: str | int = "auto"
) -> dict[str, tuple[float, str, bool]]:
    timings = {}
    for mode in ("off", fanned):
        started = time.perf_counter()
        outcome = await run_task(
            load_task(task_dir), model, workspace=workspace, keep=True, parallel=mode
        )
        wall = time.perf_counter() - started
        census = outcome.run.work_dir / "census.txt"
        timings["off" if mode == "off" else "fanned"] = (
            wall,
            census.read_text() if census.is_file() else "",
            outcome.score.passed,
        )
    return timings


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        task_dir = _task(root)
        workspace = Workspace(root / "ws")
        model = register_scripted(ScriptedModel(_one_file_per_turn), name="parallel-bench")
        timings = asyncio.run(_both(task_dir, model, workspace))
        (serial, serial_out, _), (fanned, fanned_out, _) = timings["off"], timings["fanned"]
        same = serial_out == fanned_out and serial_out.count("\n") == ITEMS
        ratio = serial / fanned
        rows.append(
            report(
                f"fan-out, {ITEMS} items, scripted 1–2 s calls",
                f"{ratio:.1f}× (serial {serial:.1f} s, fan-out {fanned:.1f} s, same output: {same})",
                f"≥ {TARGET}×, same output",
                ratio >= TARGET and same,
            )
        )
        if os.environ.get("SKVM_BENCH_LOCAL") == "1":
            # `auto` leaves an in-process model serial; two at once is what it is measured at.
            local = asyncio.run(_both(task_dir, "local/qwen2.5-coder-0.5b", workspace, 2))
            (s, s_out, s_pass), (f, f_out, f_pass) = local["off"], local["fanned"]
            rows.append(
                report(
                    "fan-out, same task, embedded 0.5B",
                    f"{s / f:.2f}× (serial {s:.0f} s pass {s_pass}, fan-out {f:.0f} s pass {f_pass}, same output: {s_out == f_out})",
                    "reported",
                    None,
                )
            )
    print(f"parallel speed-up: {ratio:.1f}×")
    return rows
