"""Run a harness CLI as a process tree that always ends: its own session and, where the
host allows, its own pids cgroup; on timeout or cancellation every process it started is
killed, whatever it did with its process group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skvm_core.agent.cgroup import new_group

STDERR_CAP = 64_000
LINE_LIMIT = 16 * 1024 * 1024  # one transcript event may carry a whole file


@dataclass
class CliOutcome:
    exit_code: int | None  # None when we ended it (timeout or stop)
    timed_out: bool
    stderr: str
    stopped: bool = False


async def run_cli(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    on_line: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> CliOutcome:
    """Run `argv` until it exits, `timeout_s` passes or `stop` is set (a limit the caller
    keeps was reached); the whole tree is killed in every case."""
    group = new_group()
    command = group.wrap(argv) if group is not None else argv
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        limit=LINE_LIMIT,
        preexec_fn=_die_with_parent,
    )
    stderr: list[str] = []

    async def read_stdout() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            on_line(line.decode("utf-8", "replace"))

    async def read_stderr() -> None:
        assert process.stderr is not None
        size = 0
        while chunk := await process.stderr.read(65536):
            if size < STDERR_CAP:
                stderr.append(chunk.decode("utf-8", "replace"))
                size += len(chunk)

    readers = asyncio.gather(read_stdout(), read_stderr())
    stop = stop or asyncio.Event()
    timed_out = stopped = False
    exited = asyncio.ensure_future(process.wait())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {exited, stopping}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        timed_out = not done
        stopped = exited not in done and stopping in done
    finally:
        stopping.cancel()
        _end(process.pid, group)
        await process.wait()
        # Output already written is still read; descendants that held the pipes are dead.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(readers, 10)
        if group is not None:
            group.remove()
    return CliOutcome(
        exit_code=None if timed_out or stopped else process.returncode,
        timed_out=timed_out,
        stderr="".join(stderr)[-STDERR_CAP:],
        stopped=stopped,
    )


def _die_with_parent() -> None:
    """In the child before exec: if our process dies without cleaning up (SIGKILL, a
    terminal closed), the kernel kills the CLI too instead of leaving it running."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _end(pid: int, group) -> None:
    """Kill the CLI and everything it started: its session's group, then its cgroup."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if group is not None:
        group.kill_all()
