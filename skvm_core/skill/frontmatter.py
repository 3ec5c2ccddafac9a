"""Split SKILL.md into YAML front matter and body, and parse the front matter."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from skvm_core.errors import SkillError
from skvm_core.skill.model import FrontMatter

_KNOWN_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}


@dataclass(frozen=True)
class SplitDocument:
    front_matter: str
    body: str
    body_start_line: int  # 1-based


def split_front_matter(text: str, where: str = "SKILL.md") -> SplitDocument:
    """SKILL.md must open with `---`, a YAML block and a closing `---` line."""
    lines = text.splitlines(keepends=True)
    first = lines[0].strip() if lines else ""
    if first.startswith("\ufeff"):
        first = first[1:]
    if first != "---":
        raise SkillError(
            f"{where}: no front matter: the file must start with a line '---'",
            hint="add a YAML block with at least `name:` and `description:` between two '---' lines",
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return SplitDocument(
                front_matter="".join(lines[1:index]),
                body="".join(lines[index + 1 :]),
                body_start_line=index + 2,
            )
    raise SkillError(
        f"{where}: front matter is not closed: no second '---' line",
        hint="end the YAML block with a line containing only '---'",
    )


def _refuse_aliases(raw: str, where: str) -> None:
    """YAML aliases (`*name`) let a few lines expand into gigabytes (a "billion laughs");
    no skill's front matter needs them, so they are refused before anything is built."""
    try:
        for event in yaml.parse(raw):
            if isinstance(event, yaml.AliasEvent):
                raise SkillError(
                    f"{where}: front matter uses a YAML alias (*{event.anchor}), which is not allowed",
                    hint="write the value out instead of referring to an anchor",
                )
    except yaml.YAMLError:
        return  # reported with its line by the parse that follows


def parse_front_matter(raw: str, where: str = "SKILL.md") -> tuple[FrontMatter, list[str]]:
    """Parse the YAML block. Returns the model and the unknown keys (for warnings).

    Type problems that the Agent Skills rules tolerate poorly (a number as name, a list as
    description) are errors raised here; range checks live in `validate`.
    """
    _refuse_aliases(raw, where)
    try:
        data = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # +2: the YAML starts on line 2 of SKILL.md and marks are 0-based.
        line = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SkillError(
            f"{where}: front matter is not valid YAML{line}: {problem}",
            hint="quote values that contain ': ' or start with special characters",
        ) from exc
    except RecursionError as exc:
        raise SkillError(f"{where}: front matter is nested too deeply") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SkillError(
            f"{where}: front matter must be a YAML mapping, got {type(data).__name__}",
            hint="write `key: value` lines such as `name: my-skill`",
        )
    fm = FrontMatter(
        name=_optional_text(data, "name", where),
        description=_optional_text(data, "description", where),
        license=_optional_text(data, "license", where),
        compatibility=_optional_text(data, "compatibility", where),
        metadata=_metadata(data.get("metadata"), where),
        allowed_tools=_allowed_tools(data.get("allowed-tools"), where),
        extra={str(k): _plain(v) for k, v in data.items() if k not in _KNOWN_KEYS},
    )
    return fm, sorted(str(k) for k in data if k not in _KNOWN_KEYS)


def _optional_text(data: dict[Any, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SkillError(
            f"{where}: front matter `{key}` must be a string, got {type(value).__name__}",
            hint=f"write `{key}:` followed by plain text on the same line",
        )
    return str(value)


def _metadata(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SkillError(
            f"{where}: front matter `metadata` must be a mapping of strings",
            hint="write it as `metadata:` followed by indented `key: value` lines",
        )
    return {str(k): str(v) for k, v in value.items()}


def _allowed_tools(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SkillError(
        f"{where}: front matter `allowed-tools` must be a space-separated string or list of strings"
    )


def _plain(value: Any) -> Any:
    """Unknown front-matter values are kept, made JSON-safe (dates become strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def with_description(text: str, description: str) -> str:
    """SKILL.md with its front matter's description replaced (a block scalar included) by
    one quoted line; everything else is kept as written."""
    split_front_matter(text)  # says what is wrong when there is no front matter
    lines = text.splitlines(keepends=True)
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    new = f"description: {json.dumps(description, ensure_ascii=False)}\n"
    start = next((i for i in range(1, end) if re.match(r"description\s*:", lines[i])), None)
    if start is None:
        lines.insert(end, new)
    else:
        stop = start + 1
        while stop < end and (lines[stop].startswith((" ", "\t")) or not lines[stop].strip()):
            stop += 1
        lines[start:stop] = [new]
    result = "".join(lines)
    parsed, _ = parse_front_matter(split_front_matter(result).front_matter)
    if parsed.description != description:
        raise SkillError("the new description could not be written into SKILL.md")
    return result
