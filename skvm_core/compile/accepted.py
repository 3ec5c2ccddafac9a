"""Accepted variants: the versions of a skill's variant a person accepted for a target, and
which one is current (0: the compiler's own). The bench, the optimizer and the workbench all
read the target's variant from here."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

from skvm_core.errors import SkvmError
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.names import folder_name
from skvm_core.store.workspace import Workspace

if TYPE_CHECKING:
    from skvm_core.compile.pipeline import CompileResult


class Version(BaseModel):
    number: int
    proposal: str
    at: float


class History(BaseModel):
    skill: str
    target: str
    current: int = 0  # 0: the compiler's own variant
    versions: list[Version] = Field(default_factory=list)


class AcceptedVariants:
    def __init__(self, workspace: Workspace) -> None:
        self.root = workspace.root / "accepted"

    def _history_path(self, skill: str, target: str) -> Path:
        return self.root / folder_name(skill) / folder_name(target) / "history.json"

    def history(self, skill: str, target: str) -> History:
        path = self._history_path(skill, target)
        if not path.is_file():
            return History(skill=skill, target=target)
        try:
            return History.model_validate_json(path.read_text("utf-8"))
        except (ValidationError, ValueError) as exc:
            raise SkvmError(f"{path} is damaged ({str(exc).splitlines()[0]})") from exc

    def current(self, skill: str, target: str) -> Path | None:
        """The folder of the target's accepted variant, or None for the compiler's own."""
        history = self.history(skill, target)
        if history.current == 0:
            return None
        folder = self._history_path(skill, target).parent / f"v{history.current}"
        return folder if (folder / "SKILL.md").is_file() else None

    def add(self, skill: str, target: str, variant: Path, proposal: str) -> int:
        """Keep `variant` as the next version and make it current; its number."""
        history = self.history(skill, target)
        number = max((v.number for v in history.versions), default=0) + 1
        shutil.copytree(variant, self._history_path(skill, target).parent / f"v{number}")
        history.versions.append(Version(number=number, proposal=proposal, at=time.time()))
        history.current = number
        self._save(history)
        return number

    def restore(self, skill: str, target: str, number: int) -> None:
        history = self.history(skill, target)
        known = {v.number for v in history.versions} | {0}
        if number not in known:
            raise SkvmError(
                f"{skill} on {target} has no accepted version {number}",
                hint=f"versions: {', '.join(map(str, sorted(known)))} (0 is the compiler's own)",
            )
        history.current = number
        self._save(history)

    def _save(self, history: History) -> None:
        atomic_write_text(
            self._history_path(history.skill, history.target), history.model_dump_json(indent=2)
        )


def variant_folder(
    skill: str,
    model: str,
    workspace: Workspace,
    compiled: Callable[[], CompileResult],
    *,
    use_accepted: bool = True,
) -> Path:
    """The folder a run of `skill` on `model` uses: the variant a person accepted, else
    the compiler's (`compiled` is called only then)."""
    from skvm_core.compile.variant import materialize_variant

    accepted = AcceptedVariants(workspace).current(skill, model) if use_accepted else None
    return accepted if accepted is not None else materialize_variant(compiled(), workspace)


def compiled_or_error(result: CompileResult, target: str) -> CompileResult:
    if result.errors:
        raise SkvmError(
            f"compiling {result.skill.name} for {target} failed: {result.errors[0].error}"
        )
    return result
