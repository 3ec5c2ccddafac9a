"""Host-side file operations into a folder that something untrusted has written to (a work
folder after a setup script, a project's skill folder): nothing is followed through a link.

A setup script or an agent can plant `scripts -> /home/user` or `.opencode -> /`; a plain
`mkdir -p`, `copyfile` or `rmtree` on a path through it acts on the host folder behind it.
Here every component below the root must be a real directory (made when missing, never
through a link), and the last one is opened without following a link.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from skvm_core.errors import SkvmError


class UnsafePath(SkvmError):
    """A path below a root runs through a link, or out of the root."""


def _parts(relative: str | PurePosixPath) -> list[str]:
    parts = [p for p in PurePosixPath(relative).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or PurePosixPath(relative).is_absolute():
        raise UnsafePath(f"{relative!s} is not a path inside the folder")
    return parts


def real_dir_beneath(root: Path, relative: str | PurePosixPath) -> Path:
    """root/relative as a real directory: each component made when missing, and refused
    when it is a link or not a directory."""
    current = root
    for part in _parts(relative):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            current.mkdir()
            continue
        if not stat.S_ISDIR(info.st_mode):
            kind = "a link" if stat.S_ISLNK(info.st_mode) else "not a folder"
            raise UnsafePath(
                f"{current.relative_to(root)} is {kind}; nothing is laid in through it"
            )
    return current


def copy_file_beneath(source: Path, root: Path, relative: str, *, replace: bool = False) -> bool:
    """Copy `source` to root/relative. False when something is already there and `replace`
    is off (what is there wins); a link there is never written through."""
    parts = _parts(relative)
    folder = real_dir_beneath(root, PurePosixPath(*parts[:-1])) if len(parts) > 1 else root
    target = folder / parts[-1]
    if os.path.lexists(target):
        if not replace:
            return False
        if target.is_symlink() or not target.is_file():
            raise UnsafePath(f"{relative} is not a regular file; it was left alone")
        target.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(target, flags, 0o644)
    with os.fdopen(fd, "wb") as out, source.open("rb") as handle:
        shutil.copyfileobj(handle, out)
    return True


def write_file_beneath(root: Path, relative: str, data: bytes) -> None:
    """Write `data` to root/relative, replacing a regular file; never through a link."""
    parts = _parts(relative)
    folder = real_dir_beneath(root, PurePosixPath(*parts[:-1])) if len(parts) > 1 else root
    target = folder / parts[-1]
    if os.path.lexists(target):
        if target.is_symlink() or not target.is_file():
            raise UnsafePath(f"{relative} is not a regular file; it was left alone")
        target.unlink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def replace_file_beneath(root: Path, relative: str, data: bytes) -> None:
    """Put `data` at root/relative in one rename (a reader sees the old file or the new one,
    never half), never through a link; a link or folder at the place is refused."""
    parts = _parts(relative)
    folder = real_dir_beneath(root, PurePosixPath(*parts[:-1])) if len(parts) > 1 else root
    target = folder / parts[-1]
    if os.path.lexists(target) and (target.is_symlink() or not target.is_file()):
        raise UnsafePath(f"{relative} is not a regular file; it was left alone")
    staging = folder / f".{parts[-1]}.skvm-{os.getpid()}.tmp"
    fd = os.open(
        staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644
    )
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def remove_beneath(root: Path, relative: str) -> None:
    """Remove root/relative (a folder with what is in it, a file or a link itself), only
    when every folder on the way is real: a link is removed, never what it points to."""
    parts = _parts(relative)
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if not os.path.lexists(folder):
            return
        if folder.is_symlink() or not folder.is_dir():
            raise UnsafePath(f"{folder.relative_to(root)} is a link; nothing is removed through it")
    target = folder / parts[-1]
    if target.is_symlink() or (os.path.lexists(target) and not target.is_dir()):
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)  # rmtree itself never follows links inside the tree


def copy_tree_beneath(
    source: Path,
    root: Path,
    relative: str,
    *,
    ignore: Callable[[str], bool] = lambda name: False,
) -> Path:
    """Copy the tree at `source` into root/relative ("" for the root itself), regular files
    and folders only: a link in the source is not copied, so no host file comes in through
    it; a regular file already at a destination is replaced."""
    target = real_dir_beneath(root, relative) if str(relative) else root
    for folder, dirs, files in os.walk(source, followlinks=False):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not ignore(d) and not (here / d).is_symlink()]
        relative_here = here.relative_to(source)
        for name in files:
            path = here / name
            if ignore(name) or path.is_symlink() or not path.is_file():
                continue
            destination = PurePosixPath(str(relative) or ".", *relative_here.parts, name)
            copy_file_beneath(path, root, str(destination), replace=True)
        for name in dirs:
            real_dir_beneath(root, PurePosixPath(str(relative) or ".", *relative_here.parts, name))
    return target
