"""What a run changed in its work folder: size and mtime of every regular file."""

from __future__ import annotations

from pathlib import Path

MAX_FILES = 5_000  # a snapshot never walks an unbounded tree


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every regular file (links not followed, `.tmp` skipped)."""
    state: dict[str, tuple[int, int]] = {}
    for path in folder.rglob("*"):
        if len(state) >= MAX_FILES:
            break
        relative = path.relative_to(folder)
        if ".tmp" in relative.parts:
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if path.is_file() and not path.is_symlink():
            state[relative.as_posix()] = (info.st_size, info.st_mtime_ns)
    return state


def changed_files(before: dict, after: dict) -> list[str]:
    return sorted(name for name, stamp in after.items() if before.get(name) != stamp)
