"""Reading a work folder after the agent: the folder is hostile.

The agent may have left symlinks to host files or folders, FIFOs that block a reader, or
huge files. Everything that grades or summarises a run reads through here: paths resolve
inside the folder or are refused, only regular files are opened (never waiting on a FIFO),
and at most a cap is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from skvm_core.agent.tools import ToolError, open_regular

READ_CAP = 5_000_000


def inside(root: Path, path: Path) -> Path | None:
    """`path` resolved, when it and every link on the way stay inside `root`."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    base = root.resolve()
    return resolved if resolved == base or base in resolved.parents else None


def read_text(root: Path, path: Path, cap: int = READ_CAP) -> str | None:
    """The text of a regular file inside `root` (at most `cap` bytes), else None."""
    resolved = inside(root, path)
    if resolved is None:
        return None
    try:
        fd = open_regular(resolved, os.O_RDONLY)
    except ToolError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(cap).decode("utf-8", errors="replace")


def regular_files(root: Path) -> Iterator[Path]:
    """Regular files under `root`, sorted per folder, never through a link."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                if stat.S_ISREG(path.lstat().st_mode):
                    yield path
            except OSError:
                continue
