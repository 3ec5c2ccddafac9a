"""Escape attempts against the agent's tools and the command sandbox: all must be contained."""

import os
import random
import uuid
from pathlib import Path

import pytest

from skvm_core.agent.cgroup import PIDS_MAX, pids_base
from skvm_core.agent.sandbox import SandboxMode, run_command, sandbox_mode
from skvm_core.agent.tools import (
    LOOPBACK_HOSTS,
    ToolContext,
    ToolError,
    confine,
    list_directory,
    read_file,
    web_fetch,
    write_file,
)

MODES = [pytest.param(SandboxMode("process"), id="process")]
if sandbox_mode().kind == "bubblewrap":
    MODES.append(pytest.param(sandbox_mode(), id="bubblewrap"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    (root / "inside.txt").write_text("ok")
    return root


@pytest.fixture
def ctx(work: Path) -> ToolContext:
    return ToolContext(work_dir=work, command_timeout_s=5, allowed_hosts=LOOPBACK_HOSTS)


@pytest.mark.parametrize(
    "path",
    [
        "../outside.txt",
        "../../etc/passwd",
        "/etc/passwd",
        "sub/../../outside.txt",
        "./../outside.txt",
        "/",
        "~/.bashrc/../../../etc/hostname",
    ],
)
def test_paths_leaving_the_work_dir_are_refused(work, path):
    with pytest.raises(ToolError, match="outside the work folder"):
        confine(work, path)


def test_absolute_path_inside_the_work_dir_is_allowed(work):
    assert confine(work, str(work / "inside.txt")) == (work / "inside.txt").resolve()


async def test_symlink_to_etc_cannot_be_read(ctx, work):
    os.symlink("/etc", work / "etc-link")
    with pytest.raises(ToolError, match="outside"):
        await read_file(ctx, {"path": "etc-link/hostname"})


async def test_symlink_file_pointing_outside_cannot_be_written(ctx, work, tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("original")
    os.symlink(target, work / "trap.txt")
    with pytest.raises(ToolError, match="outside"):
        await write_file(ctx, {"path": "trap.txt", "content": "pwned"})
    assert target.read_text() == "original"


async def test_write_outside_is_refused_and_nothing_is_written(ctx, tmp_path):
    with pytest.raises(ToolError):
        await write_file(ctx, {"path": "../escaped.txt", "content": "x"})
    assert not (tmp_path / "escaped.txt").exists()


async def test_listing_outside_is_refused(ctx):
    with pytest.raises(ToolError):
        await list_directory(ctx, {"path": ".."})


async def test_nul_byte_paths_are_refused(ctx):
    with pytest.raises(ToolError, match="NUL"):
        await read_file(ctx, {"path": "inside.txt\0../../etc/passwd"})


@pytest.mark.parametrize("mode", MODES)
async def test_api_keys_are_not_visible_to_commands(work, mode, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-leak-me")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-leak-me")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-leak-me")
    result = await run_command("env; cat /proc/self/environ | tr '\\0' '\\n'", work, mode=mode)
    assert "leak-me" not in result.stdout
    assert f"HOME={work}" in result.stdout


@pytest.mark.parametrize("mode", MODES)
async def test_home_is_inside_the_work_dir(work, mode):
    result = await run_command("cd ~ && pwd", work, mode=mode)
    assert result.stdout.strip() == str(work.resolve())


CONTAINED = sandbox_mode().kind == "bubblewrap" or pids_base() is not None


# A bomb needs something that caps processes: bubblewrap's PID namespace (it dies with the
# command) or a pids cgroup. With neither, a root process has no process-count limit and a
# bomb would starve the whole host (CI included) until the timeout.
@pytest.mark.skipif(not CONTAINED, reason="needs bubblewrap or a writable pids cgroup")
@pytest.mark.parametrize("mode", MODES)
async def test_fork_bomb_is_bounded_by_the_timeout(work, mode):
    if mode.kind == "process" and pids_base() is None:
        pytest.skip("process mode contains a bomb only with a pids cgroup")
    marker = f"bomb{uuid.uuid4().hex[:12]}"
    result = await run_command(f": {marker}; :(){{ :|:& }};:", work, timeout_s=2, mode=mode)
    assert result.duration_ms < 30_000
    # The marker is in every forked shell's command line; none may survive.
    leftover = os.popen(f"pgrep -c -f '{marker[:-1]}[{marker[-1]}]' || true").read().strip()
    assert leftover in ("", "0")


@pytest.mark.skipif(pids_base() is None, reason="no writable pids cgroup here")
@pytest.mark.parametrize("mode", MODES)
async def test_process_cap_and_setsid_escapees(work, mode):
    # More processes than the cap: forks beyond it fail inside the command.
    capped = await run_command(
        f"for i in $(seq {PIDS_MAX + 50}); do sleep 3 & done 2>&1; wait",
        work,
        timeout_s=30,
        mode=mode,
    )
    assert (
        "fork" in capped.stdout + capped.stderr
        or "Resource temporarily" in capped.stdout + capped.stderr
    )
    # A child that leaves the process group (setsid) and keeps the output pipe open would
    # outlive the command and hold the run; the cgroup ends it with the command.
    seconds = f"{random.randint(4000, 9000)}.{random.randint(100, 999)}"
    result = await run_command(
        f"setsid sleep {seconds} & echo started", work, timeout_s=10, mode=mode
    )
    assert result.stdout.strip() == "started" and result.duration_ms < 10_000
    pattern = f"sleep {seconds[:-1]}[{seconds[-1]}]"
    assert os.popen(f"pgrep -f '{pattern}' || true").read().strip() == ""
    assert not [
        p
        for p in pids_base().iterdir()
        if p.is_dir()
        and p.name.startswith(f"cmd-{os.getpid()}-")
        and (p / "cgroup.procs").read_text().strip()
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_endless_command_is_killed_at_the_timeout_with_its_children(work, mode):
    # A duration no other process on the machine is likely to use, so pgrep sees only ours.
    seconds = f"{random.randint(4000, 9000)}.{random.randint(100, 999)}"
    result = await run_command(
        f"sleep {seconds} & sleep {seconds}; echo never", work, timeout_s=1, mode=mode
    )
    assert result.timed_out and "never" not in result.stdout
    pattern = f"sleep {seconds[:-1]}[{seconds[-1]}]"
    assert os.popen(f"pgrep -f '{pattern}' || true").read().strip() == ""


@pytest.mark.parametrize("mode", MODES)
async def test_output_flood_is_capped_and_stopped(work, mode):
    result = await run_command("yes flood", work, timeout_s=20, output_cap=1000, mode=mode)
    assert result.truncated and result.flooded
    assert len(result.stdout) <= 1000
    assert result.duration_ms < 20_000


@pytest.mark.parametrize("mode", MODES)
async def test_huge_file_write_is_limited(work, mode):
    await run_command(
        "head -c 400000000 /dev/zero > big.bin; ls -l big.bin", work, timeout_s=20, mode=mode
    )
    assert (work / "big.bin").stat().st_size <= 256 * 1024 * 1024


@pytest.mark.skipif(sandbox_mode().kind != "bubblewrap", reason="needs bubblewrap")
async def test_bubblewrap_blocks_writes_outside_and_reading_root_home(work, tmp_path):
    mode = sandbox_mode()
    outside = tmp_path / "outside.txt"
    result = await run_command(
        f"echo x > {outside}; touch /usr/skvm-probe; ls /root", work, mode=mode
    )
    assert not outside.exists()
    assert not Path("/usr/skvm-probe").exists()
    assert "No such file" in result.stderr


@pytest.mark.skipif(sandbox_mode().kind != "bubblewrap", reason="needs bubblewrap")
async def test_bubblewrap_has_no_network(work):
    from tests.servers import serve_text

    with serve_text("secret page") as url:
        result = await run_command(
            f"python3 -c \"import urllib.request; print(urllib.request.urlopen('{url}', timeout=3).read())\"",
            work,
            mode=sandbox_mode(),
        )
    assert "secret page" not in result.stdout and result.exit_code != 0


@pytest.mark.skipif(sandbox_mode().kind != "bubblewrap", reason="needs bubblewrap")
async def test_bubblewrap_hides_shadow_file(work):
    result = await run_command("cat /etc/shadow", work, mode=sandbox_mode())
    assert "root:" not in result.stdout


async def test_web_fetch_to_a_host_not_allowed_is_refused(ctx):
    for url in (
        "http://example.com/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
    ):
        with pytest.raises(ToolError):
            await web_fetch(ctx, {"url": url})


async def test_web_fetch_reaches_loopback_and_refuses_redirects_elsewhere(ctx):
    from tests.servers import serve_redirect, serve_text

    with serve_text("hello from loopback") as url:
        outcome = await web_fetch(ctx, {"url": url})
    assert "hello from loopback" in outcome.output
    with (
        serve_redirect("http://example.com/") as url,
        pytest.raises(ToolError, match="not allowed"),
    ):
        await web_fetch(ctx, {"url": url})


async def test_web_fetch_to_host_loopback_is_off_unless_allowed(work):
    from tests.servers import serve_text

    with serve_text("a host service") as url, pytest.raises(ToolError, match="not allowed"):
        await web_fetch(ToolContext(work_dir=work), {"url": url})


async def test_web_fetch_to_an_allowed_extra_host(work):
    from tests.servers import serve_text

    ctx = ToolContext(work_dir=work, allowed_hosts=("localhost",))
    with serve_text("named host") as url:
        with pytest.raises(ToolError, match="not allowed"):
            await web_fetch(ctx, {"url": url})  # 127.0.0.1 is not in this task's list
        outcome = await web_fetch(ctx, {"url": url.replace("127.0.0.1", "localhost")})
    assert "named host" in outcome.output


async def test_without_a_cgroup_a_pipe_holder_cannot_hold_the_command(work, monkeypatch):
    import skvm_core.agent.sandbox as sandbox

    monkeypatch.setattr(sandbox, "new_group", lambda: None)
    seconds = f"{random.randint(4000, 9000)}.{random.randint(100, 999)}"
    result = await run_command(
        f"setsid sleep {seconds} & echo started", work, timeout_s=30, mode=SandboxMode("process")
    )
    # Ends right after the grace period, not at the timeout nor when the sleeper ends.
    assert result.stdout.strip() == "started" and not result.timed_out
    assert result.duration_ms < sandbox.PIPE_GRACE_S * 1000 + 5_000
    os.system(f"pkill -f 'sleep {seconds}'")


@pytest.mark.skipif(pids_base() is None, reason="no writable pids cgroup here")
def test_stale_group_cleanup_spares_groups_of_live_processes():
    from skvm_core.agent.cgroup import _remove_stale

    base = pids_base()
    dead = base / f"cmd-{2**22 + random.randint(1, 1000)}-test"  # above pid_max: never alive
    live = base / f"cmd-{os.getpid()}-test{random.randint(0, 10**6)}"
    dead.mkdir()
    live.mkdir()
    try:
        _remove_stale(base)
        assert not dead.exists() and live.exists()
    finally:
        for path in (dead, live):
            if path.exists():
                path.rmdir()


REMOUNT_AND_WRITE = (
    "grep CapEff /proc/self/status; id -u; "
    "mount -o remount,rw,bind {ro} 2>&1; echo forged > {ro}/host.txt; "
    "mount -o remount,rw,bind /etc 2>&1; echo forged > {probe}; "
    "echo kept > {rw}/written.txt"
)


@pytest.mark.skipif(sandbox_mode().kind != "bubblewrap", reason="needs bubblewrap")
@pytest.mark.parametrize("wrapper", ["harness-cli", "agent-command"])
async def test_sandboxed_programs_have_no_capabilities_and_read_only_stays_read_only(
    tmp_path, wrapper
):
    """As root (CI's user) a program inside the sandbox could remount a read-only bind
    writable; with an unprivileged uid and no capabilities it cannot."""
    import subprocess

    from skvm_core.agent.sandbox import confined_program

    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    (ro / "host.txt").write_text("host")
    probe = Path("/etc") / f"skvm-probe-{uuid.uuid4().hex}"  # never a leftover of an old run
    script = REMOUNT_AND_WRITE.format(ro=ro, rw=rw, probe=probe)
    if wrapper == "harness-cli":
        argv = confined_program(["sh", "-c", script], ((rw, rw),), (ro,), rw)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        stdout = done.stdout
    else:
        stdout = (await run_command(script, rw, mode=sandbox_mode(), read_only=(ro,))).stdout
    assert "CapEff:\t0000000000000000" in stdout
    assert stdout.splitlines()[1] != "0"  # not root inside
    assert (ro / "host.txt").read_text() == "host"
    assert not probe.exists()
    assert (rw / "written.txt").read_text().strip() == "kept"  # the writable bind still works


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1"])
async def test_web_fetch_refuses_an_allowed_name_that_resolves_to_a_local_address(
    work, monkeypatch, address
):
    import socket

    def resolve(host, port, *args, **kwargs):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    ctx = ToolContext(work_dir=work, allowed_hosts=("api.example.org",))
    with pytest.raises(ToolError, match="local or private address"):
        await web_fetch(ctx, {"url": "http://api.example.org/data"})


async def test_write_file_appends_stop_at_the_file_limit_and_the_folder_quota(work, monkeypatch):
    import skvm_core.agent.tools as tools

    monkeypatch.setattr(tools, "FILE_MAX_BYTES", 3_000)
    monkeypatch.setattr(tools, "WORK_QUOTA_BYTES", 5_000)
    ctx = ToolContext(work_dir=work)
    chunk = "x" * 1_000
    for _ in range(3):
        await tools.write_file(ctx, {"path": "big.txt", "content": chunk, "append": True})
    with pytest.raises(ToolError, match="limit for one file"):
        await tools.write_file(ctx, {"path": "big.txt", "content": chunk, "append": True})
    await tools.write_file(ctx, {"path": "b.txt", "content": chunk})
    with pytest.raises(ToolError, match="quota"):
        await tools.write_file(ctx, {"path": "c.txt", "content": chunk * 2})
    assert (work / "big.txt").stat().st_size == 3_000 and not (work / "c.txt").exists()
