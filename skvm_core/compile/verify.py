"""Compile-time verification: run a command of the variant in the sandbox, in a scratch copy
of the variant's files plus synthesised inputs, and say whether it did its job.

A command is verified when it exits 0 within its timeout and every output it names exists
and is not empty. Nothing runs on the host outside the sandbox, and the scratch folder is
removed afterwards.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import tempfile
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from skvm_core.agent.sandbox import run_command
from skvm_core.agent.tools import ToolError, confine

VERIFY_TIMEOUT_S = 30.0


class Verification(BaseModel):
    command: str
    passed: bool
    exit_code: int | None
    evidence: str  # what happened, in one line: the reason it failed or what it wrote
    output: str = ""  # the command's stdout (capped)


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine from synchronous pass code, inside or outside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def verify_command(
    command: str,
    files: dict[str, bytes],
    outputs: list[str],
    *,
    timeout_s: float = VERIFY_TIMEOUT_S,
) -> Verification:
    """Lay out `files` (relative path → content) in a scratch folder, run `command` there
    in the sandbox, and check that it succeeded and wrote `outputs`."""
    return run_sync(verify_command_async(command, files, outputs, timeout_s=timeout_s))


async def verify_command_async(
    command: str,
    files: dict[str, bytes],
    outputs: list[str],
    *,
    timeout_s: float = VERIFY_TIMEOUT_S,
) -> Verification:
    with scratch_layout(files) as scratch:
        result = await run_command(command, scratch, timeout_s=timeout_s, output_cap=8_000)
        if result.timed_out:
            return Verification(command=command, passed=False, exit_code=None, evidence="timed out")
        if result.exit_code != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
            return Verification(
                command=command,
                passed=False,
                exit_code=result.exit_code,
                evidence=f"exit {result.exit_code}: {tail[0][:200]}",
            )
        missing = [o for o in outputs if not _written(scratch, o)]
        if missing:
            return Verification(
                command=command,
                passed=False,
                exit_code=0,
                evidence=f"exit 0 but wrote nothing to {', '.join(missing)}",
            )
        wrote = f", wrote {', '.join(outputs)}" if outputs else ""
        return Verification(
            command=command,
            passed=True,
            exit_code=0,
            evidence=f"exit 0{wrote}",
            output=result.stdout[:2_000],
        )


@contextmanager
def scratch_layout(files: dict[str, bytes]) -> Iterator[Path]:
    """A scratch folder holding `files` (relative path → content), removed afterwards; a
    path that would leave the folder is never laid out."""
    scratch = Path(tempfile.mkdtemp(prefix="skvm-verify-"))
    try:
        for relative, content in files.items():
            try:
                target = confine(scratch, relative)
            except ToolError:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _written(root: Path, relative: str) -> bool:
    if any(ch in relative for ch in "*?"):
        return any(p.is_file() and p.stat().st_size > 0 for p in root.glob(relative))
    path = root / relative
    return path.is_file() and not path.is_symlink() and path.stat().st_size > 0
