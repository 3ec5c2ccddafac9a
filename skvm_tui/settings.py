"""Workbench settings that survive restarts (JSON in the user config dir)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from skvm_core.store.atomic import atomic_write_text


class WorkbenchSettings(BaseModel):
    theme: str = "skvm-dark"
    watch: bool = True
    auto_rerun: bool = False
    diff_view: bool = True
    solidify: bool = False  # runs go through the JIT runtime (promoted templates, shadows)
    last_task: dict[str, str] = Field(default_factory=dict)  # skill name → task id


def settings_path() -> Path:
    override = os.environ.get("SKVM_TUI_SETTINGS")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("skvm")) / "workbench.json"


def load_settings() -> WorkbenchSettings:
    path = settings_path()
    try:
        return WorkbenchSettings.model_validate_json(path.read_text("utf-8"))
    except (OSError, ValidationError, ValueError):
        return WorkbenchSettings()  # missing or damaged: start from defaults


def save_settings(settings: WorkbenchSettings) -> None:
    atomic_write_text(settings_path(), settings.model_dump_json(indent=2))
