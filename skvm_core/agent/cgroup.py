"""A pids cgroup per agent command, where the machine lets us create one.

RLIMIT_NPROC does not bind root and counts every process of the user, so on its own it
cannot stop a fork bomb run as root. A cgroup caps the processes of this one command,
and it lists them all — including any that left the command's process group with
`setsid` — so every one of them can be killed when the command ends.

cgroup v1 (a `pids` hierarchy) and v2 (a hierarchy whose controllers include `pids`)
are both probed once; without a writable one, commands run without it and `skvm doctor`
says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from skvm_core.store.process import process_alive

PIDS_MAX = 512  # per command: ample for builds and test runners, fatal to a fork bomb
_V1_ROOT = Path("/sys/fs/cgroup/pids")
_V2_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))
_PARENT = "skvm"
_KILL_ROUNDS = 50


@dataclass(frozen=True)
class PidsGroup:
    path: Path

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` started from a shell that first moves itself into the group."""
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.procs), *argv]

    def members(self) -> list[int]:
        try:
            return [int(line) for line in self.procs.read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self) -> None:
        # A process may fork between reading the list and the kill; the cap bounds how
        # many can appear, so a few rounds empty the group.
        for _ in range(_KILL_ROUNDS):
            pids = self.members()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        # Killed processes leave the group once reaped; while one is still going away the
        # group is busy, so it is retried when the next group is made.
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            _finished.add(self.path)


_finished: set[Path] = set()  # groups whose command ended but that were still busy


def _usable_root() -> Path | None:
    if os.environ.get("SKVM_PIDS_CGROUP", "").lower() in ("off", "0", "no"):
        return None
    candidates = [_V1_ROOT] if (_V1_ROOT / "cgroup.procs").is_file() else []
    for root in _V2_ROOTS:
        # Only where the controller is already handed down: enabling it is a system change.
        try:
            if "pids" in (root / "cgroup.subtree_control").read_text().split():
                candidates.append(root)
        except OSError:
            continue
    for root in candidates:
        base = root / _PARENT
        probe = base / f"probe-{secrets.token_hex(4)}"
        try:
            base.mkdir(exist_ok=True)
            if root != _V1_ROOT:  # v2: our own children need the controller enabled
                (base / "cgroup.subtree_control").write_text("+pids")
            probe.mkdir()
            (probe / "pids.max").write_text(str(PIDS_MAX))
        except OSError:
            with contextlib.suppress(OSError):
                probe.rmdir()
            continue
        probe.rmdir()
        return base
    return None


@cache
def pids_base() -> Path | None:
    """The folder our per-command groups go into, or None when none can be made."""
    base = _usable_root()
    if base is not None:
        _remove_stale(base)
    return base


def _remove_stale(base: Path) -> None:
    """Groups left by processes that are gone (another live skvm may have just made one
    that is still empty, so only dead owners' groups are touched; rmdir needs them empty)."""
    for child in base.iterdir():
        owner = child.name.split("-")[1] if child.name.startswith("cmd-") else ""
        if child.is_dir() and owner.isdigit() and not process_alive(int(owner)):
            with contextlib.suppress(OSError):
                child.rmdir()
    return True


def new_group(limit: int = PIDS_MAX) -> PidsGroup | None:
    base = pids_base()
    if base is None:
        return None
    for stale in list(_finished):
        with contextlib.suppress(OSError):
            stale.rmdir()
        if not stale.exists():
            _finished.discard(stale)
    path = base / f"cmd-{os.getpid()}-{secrets.token_hex(6)}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(limit))
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    return PidsGroup(path)


def describe() -> str:
    base = pids_base()
    if base is None:
        return "no pids cgroup (commands are bounded by their timeout and, for non-root users, ulimit -u)"
    return f"pids cgroup per command under {base} (at most {PIDS_MAX} processes; all killed at the end)"
