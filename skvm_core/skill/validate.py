"""Agent Skills rules, reported as diagnostics with severities.

Structural problems that stop a skill from loading at all (no SKILL.md, broken YAML) are
raised by the loader; everything here is a finding on a skill that did load.
"""

from __future__ import annotations

import re

from skvm_core.skill.model import Diagnostic, FrontMatter

NAME_MAX = 64
DESCRIPTION_MAX = 1024
COMPATIBILITY_MAX = 500
# The spec recommends keeping SKILL.md bodies short and moving detail to references/.
BODY_LINES_BUDGET = 500
BODY_TOKENS_BUDGET = 5000
_NAME_SHAPE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def validate_front_matter(
    fm: FrontMatter, folder_name: str, unknown_keys: list[str]
) -> list[Diagnostic]:
    found: list[Diagnostic] = []

    def report(severity, code, message, line=None) -> None:
        found.append(Diagnostic(severity=severity, code=code, message=message, line=line))

    if fm.name is None or not fm.name.strip():
        report("error", "name-missing", "front matter has no `name`")
    else:
        name = fm.name
        if len(name) > NAME_MAX:
            report(
                "error", "name-length", f"name is {len(name)} characters; the limit is {NAME_MAX}"
            )
        if not _NAME_SHAPE.match(name):
            report(
                "error",
                "name-shape",
                f"name {name!r} must use lowercase letters, digits and single hyphens, "
                "and must not start or end with a hyphen",
            )
        if name != folder_name:
            report(
                "error",
                "name-folder",
                f"name {name!r} differs from the folder name {folder_name!r}",
            )

    if fm.description is None or not fm.description.strip():
        report("error", "description-missing", "front matter has no `description`")
    elif len(fm.description) > DESCRIPTION_MAX:
        report(
            "warning",
            "description-length",
            f"description is {len(fm.description)} characters; keep it within {DESCRIPTION_MAX}",
        )

    if fm.compatibility is not None and len(fm.compatibility) > COMPATIBILITY_MAX:
        report(
            "warning",
            "compatibility-length",
            f"compatibility is {len(fm.compatibility)} characters; keep it within {COMPATIBILITY_MAX}",
        )
    for key in unknown_keys:
        report("info", "front-matter-unknown", f"unknown front matter key {key!r} (kept, not used)")
    return found


def validate_body(body: str, body_start_line: int) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if not body.strip():
        found.append(
            Diagnostic(
                severity="warning",
                code="body-empty",
                message="SKILL.md has no instructions",
                line=body_start_line,
            )
        )
        return found
    lines = body.count("\n") + 1
    if lines > BODY_LINES_BUDGET:
        found.append(
            Diagnostic(
                severity="warning",
                code="body-lines",
                message=f"body is {lines} lines; keep SKILL.md under {BODY_LINES_BUDGET} and move detail to references/",
                line=body_start_line + BODY_LINES_BUDGET,
            )
        )
    approx_tokens = len(body) // 4
    if approx_tokens > BODY_TOKENS_BUDGET:
        found.append(
            Diagnostic(
                severity="warning",
                code="body-tokens",
                message=f"body is about {approx_tokens} tokens; the budget is {BODY_TOKENS_BUDGET}",
            )
        )
    return found
