"""Solidification state on disk: one JSON file per skill × target, changed under a lock
and written atomically (a kill mid-update leaves the previous state whole)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from skvm_core.errors import SkvmError
from skvm_core.jit.model import JitState
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.names import folder_name
from skvm_core.store.workspace import Workspace


def _slug(text: str) -> str:
    return folder_name(text)


class JitStore:
    def __init__(self, workspace: Workspace) -> None:
        self.root = workspace.root / "jit"

    def path(self, skill: str, target: str) -> Path:
        return self.root / _slug(skill) / f"{_slug(target)}.json"

    def load(self, skill: str, target: str) -> JitState:
        path = self.path(skill, target)
        if not path.is_file():
            return JitState(skill=skill, target=target)
        try:
            return JitState.model_validate_json(path.read_text("utf-8"))
        except (ValidationError, ValueError) as exc:
            raise SkvmError(
                f"{path}: the solidification state is damaged ({str(exc).splitlines()[0]})",
                hint=f"`skvm jit reset --skill {skill} --target {target}` starts it afresh",
            ) from exc

    @contextlib.contextmanager
    def update(self, skill: str, target: str) -> Iterator[JitState]:
        """Read, change and write back the state, one process or task at a time."""
        path = self.path(skill, target)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self.load(skill, target)
                yield state
                atomic_write_text(path, state.model_dump_json(indent=2))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def reset(self, skill: str, target: str) -> bool:
        path = self.path(skill, target)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        return existed

    def all(self) -> list[JitState]:
        found = []
        for path in sorted(self.root.glob("*/*.json")) if self.root.is_dir() else []:
            try:
                found.append(JitState.model_validate_json(path.read_text("utf-8")))
            except (ValidationError, ValueError, OSError):
                continue
        return found
