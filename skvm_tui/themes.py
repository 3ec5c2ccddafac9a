"""Workbench themes: the house themes in `themes/` plus user themes from the config dir."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.theme import Theme

HOUSE_THEMES = Path(__file__).resolve().parent.parent / "themes"
FIELDS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


def user_theme_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("skvm")) / "themes"


def load_theme_file(path: Path) -> Theme:
    data = tomllib.loads(path.read_text("utf-8"))
    if "name" not in data or "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least `name` and `primary`")
    return Theme(
        name=str(data["name"]),
        dark=bool(data.get("dark", True)),
        **{k: str(data[k]) for k in FIELDS if k in data},
    )


def discover_themes() -> tuple[list[Theme], list[str]]:
    """(themes, problems): a broken user theme is reported, never fatal."""
    themes, problems = [], []
    for folder in (HOUSE_THEMES, user_theme_dir()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                themes.append(load_theme_file(path))
            except (ValueError, tomllib.TOMLDecodeError, OSError) as exc:
                problems.append(f"theme {path.name}: {exc}")
    return themes, problems
