"""Workbench settings that survive restarts (JSON in the user config dir).

A dataclass with its own checks rather than a pydantic model: the settings are read before
the first frame, and importing pydantic there cost more than a third of the time to first
paint. A damaged file, or a field of the wrong type, falls back to the default."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from skvm_core.store.atomic import atomic_write_text


@dataclasses.dataclass
class WorkbenchSettings:
    theme: str = "skvm-dark"
    watch: bool = True
    auto_rerun: bool = False
    diff_view: bool = True
    solidify: bool = False  # runs go through the JIT runtime (promoted templates, shadows)
    last_task: dict[str, str] = dataclasses.field(default_factory=dict)  # skill → task id

    @classmethod
    def from_json(cls, text: str) -> WorkbenchSettings:
        """The settings in `text`; each field of the wrong type (or unknown) is left out."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("settings must be a JSON object")
        defaults = cls()
        kept = {}
        for field in dataclasses.fields(cls):
            value = data.get(field.name)
            default = getattr(defaults, field.name)
            if field.name == "last_task":
                if isinstance(value, dict) and all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()
                ):
                    kept[field.name] = value
            elif type(value) is type(default):
                kept[field.name] = value
        return cls(**kept)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)


def settings_path() -> Path:
    override = os.environ.get("SKVM_TUI_SETTINGS")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("skvm")) / "workbench.json"


def load_settings() -> WorkbenchSettings:
    path = settings_path()
    try:
        return WorkbenchSettings.from_json(path.read_text("utf-8"))
    except (OSError, ValueError):
        return WorkbenchSettings()  # missing or damaged: start from defaults


def save_settings(settings: WorkbenchSettings) -> None:
    atomic_write_text(settings_path(), settings.to_json())
