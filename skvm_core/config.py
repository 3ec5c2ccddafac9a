"""User and project configuration (TOML), validated with pydantic.

Lookup: `SKVM_CONFIG` if set, else `<user config dir>/skvm/config.toml`; then a `skvm.toml`
in the current folder (or a parent) is laid over it, so a project's choices win.
`SKVM_HOME` overrides the workspace location.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from skvm_core.errors import ConfigError

PROJECT_FILE = "skvm.toml"
DEFAULT_TARGETS = ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]
DEFAULT_SYNTHESIS_MODEL = "local/qwen2.5-coder-1.5b"


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_targets: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    compiler_model: str | None = None
    # Writes and verifies the script a weak target needs when a skill ships none ("none": off).
    synthesis_model: str | None = DEFAULT_SYNTHESIS_MODEL
    judge_model: str | None = None  # grades llm-judge criteria
    # model-id prefix → API base URL, e.g. {"openai/my-vllm" = "http://127.0.0.1:8000/v1"}
    api_bases: dict[str, str] = Field(default_factory=dict)
    concurrency: int = Field(default=2, ge=1, le=256)
    # Where bench runs and profile instances execute: local, ray or ray://HOST:PORT.
    executor: str = "local"
    workspace: Path | None = None
    call_timeout_s: float = Field(default=180.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    theme: str = "skvm-dark"
    # Whether a skill's per-item step fans out into sub-runs: auto, off or a limit (`--parallel`).
    parallel: str = "auto"

    @field_validator("parallel")
    @classmethod
    def _parallel_choice(cls, value: str) -> str:
        chosen = str(value).strip().lower()
        if chosen in ("auto", "off") or (chosen.isdigit() and int(chosen) >= 1):
            return chosen
        raise ValueError("parallel must be auto, off or a number of sub-runs of at least 1")

    @field_validator("default_targets")
    @classmethod
    def _non_empty_ids(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("target ids must not be empty")
        return value

    def api_base_for(self, model: str) -> str | None:
        matches = [prefix for prefix in self.api_bases if model.startswith(prefix)]
        return self.api_bases[max(matches, key=len)] if matches else None

    def workspace_dir(self) -> Path:
        env = os.environ.get("SKVM_HOME")
        if env:
            return Path(env).expanduser()
        if self.workspace is not None:
            return self.workspace.expanduser()
        import platformdirs

        return Path(platformdirs.user_data_dir("skvm"))


def user_config_path() -> Path:
    env = os.environ.get("SKVM_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("skvm")) / "config.toml"


def project_config_path(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / PROJECT_FILE
        if path.is_file():
            return path
    return None


def config_sources(start: Path | None = None) -> list[Path]:
    """The files that exist and were merged, lowest priority first."""
    sources = [p for p in (user_config_path(),) if p.is_file()]
    project = project_config_path(start)
    if project is not None and project not in sources:
        sources.append(project)
    return sources


def load_config(start: Path | None = None) -> Config:
    merged: dict[str, Any] = {}
    sources = config_sources(start)
    for path in sources:
        merged.update(_read_toml(path))
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        names = ", ".join(str(p) for p in sources)
        raise ConfigError(
            f"invalid configuration in {names}: `{where}`: {first['msg']}",
            hint="`skvm config show` prints the settings and their defaults",
        ) from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def synthesis_model(config: Config | None = None) -> str | None:
    """The model that synthesises verified scripts by default: SKVM_SYNTHESIS_MODEL, else the
    configuration's; "none" (or an empty value) turns synthesis off."""
    chosen = os.environ.get("SKVM_SYNTHESIS_MODEL")
    if chosen is None:
        chosen = (config or load_config()).synthesis_model
    return None if not chosen or chosen.strip().lower() == "none" else chosen.strip()
