"""Hostile inputs around the agent's tools: special files, huge files, blocking tools."""

import os
import socket
import tracemalloc

import pytest

from skvm_core.agent.result import RunLimits
from skvm_core.agent.tools import TOOLS, ToolContext, call_tool
from tests.harness_helpers import call, scripted_run, turn


async def _tool(tmp_path, name, **arguments):
    return await call_tool(name, TOOLS[name][1], ToolContext(work_dir=tmp_path), arguments)


@pytest.mark.parametrize("tool", ["read_file", "write_file"])
async def test_a_fifo_is_refused_not_waited_on(tmp_path, tool):
    os.mkfifo(tmp_path / "pipe")
    outcome = await _tool(tmp_path, tool, path="pipe", content="x")
    assert not outcome.ok and "not a regular file" in outcome.output


@pytest.mark.parametrize("tool", ["read_file", "write_file"])
async def test_a_socket_is_refused(tmp_path, tool):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    try:
        outcome = await _tool(tmp_path, tool, path="sock", content="x")
    finally:
        server.close()
    assert not outcome.ok and "regular file" in outcome.output


async def test_a_device_linked_into_the_folder_is_refused(tmp_path):
    (tmp_path / "zero").symlink_to("/dev/zero")  # the link leaves the folder: refused
    outcome = await _tool(tmp_path, "read_file", path="zero")
    assert not outcome.ok


async def test_reading_a_300_mb_file_keeps_memory_bounded(tmp_path):
    big = tmp_path / "big.log"
    with big.open("wb") as handle:  # sparse: no disk used, 300 MB to read
        handle.truncate(300 * 1024 * 1024)
    tracemalloc.start()
    outcome = await _tool(tmp_path, "read_file", path="big.log")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert outcome.ok and "binary" in outcome.output
    assert peak < 8 * 1024 * 1024, peak


async def test_paging_through_a_long_text_file(tmp_path):
    (tmp_path / "lines.txt").write_text("".join(f"line {i}\n" for i in range(1, 5001)))
    first = await _tool(tmp_path, "read_file", path="lines.txt", limit=10)
    assert first.output.startswith("line 1\n") and "offset=11" in first.output
    later = await _tool(tmp_path, "read_file", path="lines.txt", offset=4999)
    assert later.output == "line 4999\nline 5000\n" and not later.truncated


async def test_the_run_timeout_holds_while_a_command_blocks(tmp_path):
    result, _ = await scripted_run(
        tmp_path,
        turn(call("execute_command", command="sleep 60")),
        turn(text="never"),
        limits=RunLimits(timeout_s=2, command_timeout_s=120, nudge_without_tools=False),
    )
    assert result.status == "timeout"


async def test_limits_cannot_be_raised_by_the_command(tmp_path):
    from skvm_core.agent.sandbox import FILE_SIZE_LIMIT_KB, MEMORY_LIMIT_KB, run_command

    result = await run_command(
        "ulimit -H -v; ulimit -H -f; ulimit -v unlimited && echo raised-v; ulimit -f unlimited && echo raised-f",
        tmp_path,
    )
    lines = result.stdout.split()
    assert lines[:2] == [str(MEMORY_LIMIT_KB), str(FILE_SIZE_LIMIT_KB)]
    assert "raised-v" not in lines and "raised-f" not in lines


def test_root_only_files_under_etc_are_hidden_in_the_sandbox():
    from skvm_core.agent.sandbox import hidden_paths

    files, _ = hidden_paths()
    for name in ("/etc/shadow", "/etc/shadow-", "/etc/gshadow-"):
        if os.path.exists(name):
            assert name in files


@pytest.mark.skipif(
    not os.path.exists("/etc/shadow-"), reason="no /etc/shadow- backup on this host"
)
async def test_a_shadow_backup_is_unreadable_inside_bubblewrap(tmp_path):
    from skvm_core.agent.sandbox import run_command, sandbox_mode

    if sandbox_mode().kind != "bubblewrap":
        pytest.skip("needs bubblewrap")
    result = await run_command("cat /etc/shadow- /etc/gshadow-; echo end", tmp_path)
    assert result.stdout.strip() == "end"  # nothing of either file came through
