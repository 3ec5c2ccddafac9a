"""Run agent commands so they cannot hurt the host.

Every command runs in the run's work dir with a timeout, capped output, a scrubbed
environment (an allowlist: no API keys, tokens or credentials; HOME inside the work dir),
soft limits on memory and file size, and in its own process group that is killed whole on
timeout. Where bubblewrap works, the command also runs in fresh namespaces: the system
folders read-only, the work dir the only writable path, no network, no view of /root or
/home, an unprivileged user.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from skvm_core.agent.cgroup import new_group

ENV_ALLOWLIST = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
MEMORY_LIMIT_KB = 4 * 1024 * 1024
FILE_SIZE_LIMIT_KB = 256 * 1024
PROCESS_LIMIT = 2048  # counts all of the user's processes, so not too tight
# After the command ends, how long its output pipes may stay open (held by a child that
# escaped every kill) before we stop reading them.
PIPE_GRACE_S = 2.0
# Output past this multiple of the cap is a flood: the command is stopped early.
FLOOD_FACTOR = 16
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt")
_HIDDEN_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers")
# Where command aliases the host lacks (`python` where only `python3` exists) appear inside
# the sandbox; skills and models alike write `python script.py`.
SHIM_DIR_IN_SANDBOX = "/run/skvm/bin"


@dataclass(frozen=True)
class SandboxMode:
    kind: Literal["bubblewrap", "process"]
    bwrap: str | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.kind == "bubblewrap":
            return (
                f"bubblewrap ({self.bwrap}): read-only system, work dir only writable, no network"
            )
        return (
            f"process isolation only (work dir, timeout, output cap, scrubbed env): {self.reason}"
        )


@cache
def sandbox_mode() -> SandboxMode:
    """Bubblewrap when it is installed and actually works here; else process isolation."""
    if os.environ.get("SKVM_SANDBOX", "").lower() in ("off", "process", "none"):
        return SandboxMode("process", reason="disabled by SKVM_SANDBOX")
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return SandboxMode(
            "process", reason="bubblewrap is not installed (Debian package `bubblewrap`)"
        )
    probe = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "true",
    ]
    try:
        result = subprocess.run(probe, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxMode("process", reason=f"bubblewrap failed to start: {exc}")
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        return SandboxMode(
            "process",
            reason=f"bubblewrap cannot create namespaces here: {detail[-1] if detail else result.returncode}",
        )
    return SandboxMode("bubblewrap", bwrap=bwrap)


@cache
def shim_dir() -> Path | None:
    """A folder with `python` → python3, when the system has python3 but no `python`.
    Made once per user, owned by us and not writable by others (it is put on PATH)."""
    python3 = shutil.which("python3", path=SAFE_PATH)
    if python3 is None or shutil.which("python", path=SAFE_PATH):
        return None
    import tempfile

    folder = Path(tempfile.gettempdir()) / f"skvm-shims-{os.getuid()}"
    try:
        folder.mkdir(mode=0o755, exist_ok=True)
        info = folder.lstat()
        if folder.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o022:
            folder = Path(tempfile.mkdtemp(prefix="skvm-shims-"))
            folder.chmod(0o755)
        link = folder / "python"
        if not link.is_symlink() or os.readlink(link) != python3:
            temporary = folder / f".python-{os.getpid()}"
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(python3)
            temporary.replace(link)
    except OSError:
        return None
    return folder


def shim_path(in_bubblewrap: bool) -> str | None:
    """The shim folder as a sandboxed program sees it, or None when the host needs none."""
    shims = shim_dir()
    if shims is None:
        return None
    return SHIM_DIR_IN_SANDBOX if in_bubblewrap else str(shims)


def sandbox_path(in_bubblewrap: bool) -> str:
    shims = shim_path(in_bubblewrap)
    return SAFE_PATH if shims is None else f"{SAFE_PATH}:{shims}"


@cache
def hide_own_environment() -> bool:
    """Without namespaces, a command could read /proc/<our pid>/environ (API keys) as the
    same user. A non-dumpable process's /proc files belong to root: other processes of
    our user can no longer read them. (Root can; run as root only with bubblewrap.)"""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        return False


@cache
def hidden_paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Files and folders under /etc that other users may not read (shadow files and their
    backups, private keys, sudoers…): inside the sandbox they are empty, whoever runs it."""
    files: list[str] = [f for f in _HIDDEN_FILES if Path(f).exists()]
    folders: list[str] = []
    for root, dirs, names in os.walk("/etc"):
        for name in list(dirs):
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode) and not info.st_mode & stat.S_IROTH:
                folders.append(path)
                dirs.remove(name)
        for name in names:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and not info.st_mode & stat.S_IROTH and path not in files:
                files.append(path)
    return tuple(files), tuple(folders)


def scrubbed_env(work_dir: Path, *, in_bubblewrap: bool = False) -> dict[str, str]:
    """Only harmless variables pass; nothing like *_API_KEY, tokens or cloud credentials."""
    env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
    env.update(
        PATH=sandbox_path(in_bubblewrap),
        HOME=str(work_dir),
        TMPDIR=str(work_dir / ".tmp"),
        PYTHONDONTWRITEBYTECODE="1",
        LANG=env.get("LANG", "C.UTF-8"),
    )
    return env


class CommandResult(BaseModel):
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False
    flooded: bool = False
    duration_ms: float
    sandbox: str

    def render(self) -> str:
        """The text an agent sees for this result."""
        parts = []
        if self.stdout:
            parts.append(self.stdout)
        if self.stderr:
            parts.append(f"[stderr]\n{self.stderr}")
        if self.truncated:
            parts.append("[output truncated]")
        if self.flooded:
            parts.append("[stopped: the command produced far too much output]")
        if self.timed_out:
            parts.append("[stopped: the command timed out]")
        parts.append(f"[exit code {self.exit_code}]")
        return "\n".join(parts)


def _system_binds() -> list[str]:
    """The host's system folders read-only, private files hidden, fresh /dev, /proc, /tmp."""
    argv: list[str] = []
    for folder in _SYSTEM_DIRS:
        path = Path(folder)
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            argv += ["--ro-bind", folder, folder]
    files, folders = hidden_paths()
    for hidden in files:
        argv += ["--ro-bind", "/dev/null", hidden]
    for folder in folders:
        argv += ["--tmpfs", folder]
    return argv + ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]


# Every sandboxed program: the nobody uid in a new user namespace, every capability dropped.
_UNPRIVILEGED = ("--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL")


def _bwrap_argv(
    bwrap: str,
    work_dir: Path,
    network: bool,
    read_only: tuple[Path, ...] = (),
    writable: tuple[Path, ...] = (),
) -> list[str]:
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", *_UNPRIVILEGED]
    if network:
        argv.append("--share-net")
    argv += _system_binds()
    shims = shim_dir()
    if shims is not None:
        argv += ["--ro-bind", str(shims), SHIM_DIR_IN_SANDBOX]
    for folder in read_only:  # host folders the command may read at their own paths
        argv += ["--ro-bind", str(folder), str(folder)]
    for folder in writable:  # the command's own folders outside the work folder
        argv += ["--bind", str(folder), str(folder)]
    argv += ["--bind", str(work_dir), str(work_dir), "--chdir", str(work_dir), "--clearenv"]
    for key, value in scrubbed_env(work_dir, in_bubblewrap=True).items():
        argv += ["--setenv", key, value]
    return argv


def confined_program(
    argv: list[str],
    binds: tuple[tuple[Path, Path], ...],
    readable: tuple[Path, ...],
    chdir: Path,
) -> list[str]:
    """`argv` (a whole program, such as an agent harness CLI) under bubblewrap where it is
    available: the system read-only, `readable` too at their own paths, each `(host, seen)`
    of `binds` writable at `seen`, started in `chdir` (a path as the program sees it). The
    network is shared: the program reaches our model server on loopback. Without
    bubblewrap, `argv` unchanged (the caller then passes host paths)."""
    mode = sandbox_mode()
    if mode.kind != "bubblewrap" or not mode.bwrap:
        return argv
    wrapped = [mode.bwrap, "--unshare-all", "--share-net", "--die-with-parent", "--new-session"]
    # An unprivileged uid in its own user namespace, with no capabilities: as root the CLI
    # could otherwise remount a read-only bind writable and write to the host.
    wrapped += [*_UNPRIVILEGED]
    wrapped += _system_binds()
    shims = shim_dir()
    if shims is not None:  # the program's commands find `python` as our agent's do
        wrapped += ["--ro-bind", str(shims), SHIM_DIR_IN_SANDBOX]
    for folder in readable:
        wrapped += ["--ro-bind", str(folder), str(folder)]
    for host, seen in binds:
        wrapped += ["--bind", str(host), str(seen)]
    return [*wrapped, "--chdir", str(chdir), *argv]


async def run_command(
    command: str,
    work_dir: Path,
    *,
    timeout_s: float = 60.0,
    output_cap: int = 32_000,
    network: bool = False,
    mode: SandboxMode | None = None,
    read_only: tuple[Path, ...] = (),
    extra_env: dict[str, str] | None = None,
    grading: bool = False,
) -> CommandResult:
    """Run `command` with bash in `work_dir` under the sandbox. `extra_env` passes values
    (a template's parameters) as variables, so they never become part of the command text.
    `grading`: the command judges what an agent left in `work_dir`, so nothing there may
    steer it (see `_grading_home`)."""
    if grading:
        with _grading_home() as home:
            return await _run_command(
                command,
                work_dir,
                timeout_s=timeout_s,
                output_cap=output_cap,
                network=network,
                mode=mode,
                read_only=read_only,
                extra_env={**grading_env(home), **(extra_env or {})},
                writable=(home,),
            )
    return await _run_command(
        command, work_dir, timeout_s=timeout_s, output_cap=output_cap, network=network,
        mode=mode, read_only=read_only, extra_env=extra_env,
    )  # fmt: skip


def grading_env(home: Path) -> dict[str, str]:
    """A grader's environment: its home and temp outside the work folder (no planted
    `usercustomize.py`, `.pythonrc` or config is read), Python without the user site and
    without the current folder on its path (an agent's `json.py` is not imported)."""
    return {
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "PYTHONNOUSERSITE": "1",
        "PYTHONSAFEPATH": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@contextlib.contextmanager
def _grading_home():
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="skvm-grader-home-"))
    (home / "tmp").mkdir()
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def _run_command(
    command: str,
    work_dir: Path,
    *,
    timeout_s: float,
    output_cap: int,
    network: bool,
    mode: SandboxMode | None,
    read_only: tuple[Path, ...],
    extra_env: dict[str, str] | None,
    writable: tuple[Path, ...] = (),
) -> CommandResult:
    mode = mode or sandbox_mode()
    work_dir = work_dir.resolve()
    (work_dir / ".tmp").mkdir(parents=True, exist_ok=True)
    # Soft and hard limits both (no -S): the command cannot raise them again. -u only binds
    # non-root users; as root, the PID namespace and the pids cgroup end a bomb.
    limited = (
        f"ulimit -v {MEMORY_LIMIT_KB} -f {FILE_SIZE_LIMIT_KB} 2>/dev/null; "
        f'ulimit -u {PROCESS_LIMIT} 2>/dev/null; exec bash -c "$1"'
    )
    inner = ["bash", "-c", limited, "skvm-command", command]
    if mode.kind == "bubblewrap" and mode.bwrap:
        argv = _bwrap_argv(mode.bwrap, work_dir, network, read_only, writable)
        for key, value in (extra_env or {}).items():  # bubblewrap clears the environment
            argv += ["--setenv", key, value]
        argv += inner
        env = {"PATH": SAFE_PATH}
    else:
        argv, env = inner, scrubbed_env(work_dir)
        hide_own_environment()
    env = {**env, **(extra_env or {})}
    group = new_group()
    if group is not None:
        argv = group.wrap(argv)
    started = time.perf_counter()
    # Shielded: a cancellation while the process starts would otherwise leave it running
    # with no one to kill it.
    spawning = asyncio.ensure_future(_spawn(argv, work_dir, env))
    try:
        process, exited = await asyncio.shield(spawning)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            started_process, _ = await spawning
            await _end(started_process, group)
        if group is not None:
            group.remove()
        raise
    flood = asyncio.Event()
    out = _CappedReader(output_cap, flood)
    err = _CappedReader(output_cap, flood)
    readers = asyncio.gather(out.drain(process.stdout), err.drain(process.stderr))
    timed_out = False
    try:
        # The command's own exit, not its pipes closing: a background child may hold them.
        waiter = asyncio.ensure_future(exited.wait())
        flooded = asyncio.ensure_future(flood.wait())
        done, _ = await asyncio.wait(
            {waiter, flooded}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        timed_out = waiter not in done and flooded not in done
        waiter.cancel()
        flooded.cancel()
        _kill_group(process.pid)  # background children left behind die with the command
        if group is not None:
            group.kill_all()  # and so do those that left the process group (setsid)
        try:
            async with asyncio.timeout(PIPE_GRACE_S):
                await readers
        except TimeoutError:
            # A holder out of reach (setsid, no cgroup): stop listening rather than hang.
            readers.cancel()
            process._transport.close()  # closes our ends of the pipes; asyncio has no public way
        await process.wait()
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await _end(process, group)
        raise
    finally:
        if group is not None:
            group.remove()
    return CommandResult(
        exit_code=process.returncode,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
        truncated=out.truncated or err.truncated,
        flooded=flood.is_set(),
        duration_ms=(time.perf_counter() - started) * 1000,
        sandbox=mode.kind,
    )


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Signals the process's own exit, which asyncio reports only once its pipes close too."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _spawn(
    argv: list[str], work_dir: Path, env: dict[str, str]
) -> tuple[asyncio.subprocess.Process, asyncio.Event]:
    # The child watcher reports the exit whoever still holds the pipes; a background child
    # may keep them open long after the command itself ended.
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitAwareProtocol(limit=2**16, loop=loop),
        *argv,
        cwd=work_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # own process group: killed whole on timeout
    )
    return asyncio.subprocess.Process(transport, protocol, loop), protocol.exited


async def _end(process: asyncio.subprocess.Process, group) -> None:
    """Kill the command's group (and cgroup) and reap it before a cancellation goes on, so
    an interrupted run leaves no process."""
    _kill_group(process.pid)
    if group is not None:
        group.kill_all()
    async with asyncio.timeout(PIPE_GRACE_S):
        await process.wait()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class _CappedReader:
    def __init__(self, cap: int, flood: asyncio.Event) -> None:
        self.cap = cap
        self.flood = flood
        self.kept = bytearray()
        self.seen = 0
        self.truncated = False

    async def drain(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            self.seen += len(chunk)
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]
            if len(chunk) > max(room, 0):
                self.truncated = True
            if self.seen > self.cap * FLOOD_FACTOR:
                self.flood.set()

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")
