"""What every task importer shares: the result it reports per task, and the two checks
that keep an import from overwriting a user's folder or copying a file from outside."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel


class ImportResult(BaseModel):
    source: str
    task_id: str | None = None
    task_dir: str | None = None
    skipped: str | None = None
    notes: list[str] = []


def replaceable(folder: Path) -> bool:
    """A folder may be replaced only when it is absent or a task an earlier import wrote."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return False
    if not folder.exists():
        return True
    try:
        data = json.loads((folder / "task.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("origin"), dict)


def asset_problem(assets: Path, source: Path, named: str) -> str | None:
    """Why a workspace file's source may not be copied: it must be a regular file inside the
    task set's assets folder (no `../`, no absolute path, no link leading out)."""
    root = assets.resolve()
    if not source.is_file():
        return f"asset {named} not found next to the task"
    if source.is_symlink() or root not in source.resolve().parents:
        return f"asset {named} lies outside the assets folder; it was not copied"
    return None
