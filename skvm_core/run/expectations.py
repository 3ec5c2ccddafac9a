"""Expectations in words → checks: the forms a program can check become that check (a file
exists, contains a text, matches a pattern, is JSON with keys, a CSV with a header, a command
exits 0); any other sentence becomes an llm-judge criterion with itself as the rubric. The
sentence is kept as the criterion's name."""

from __future__ import annotations

import re

from skvm_core.run.checks import CheckSpec, check_criterion
from skvm_core.run.task import TaskError

# A file name as expectations write it: bare, in backticks or in quotes.
_NAME = r"[`'\"]?(?P<file>[\w][\w./-]*\.\w{1,8})[`'\"]?"
_QUOTED = r"[`'\"](?P<text>[^`'\"]+)[`'\"]"
_LEAD = r"^(?:the\s+)?(?:(?:output|result|report)\s+)?(?:file\s+)?"


def _check(kind: str, file: str = "", value: str = "", name: str = "") -> dict:
    return check_criterion(CheckSpec(kind=kind, file=file, value=value, name=name))


def expectation_criterion(text: str) -> dict:
    """The check an expectation states, or an llm-judge criterion with it as the rubric."""
    said = " ".join(text.split()).rstrip(".")
    forms = [
        (
            _LEAD + _NAME + r"\s+(?:is\s+created|is\s+written|exists|is\s+present)$",
            lambda m: _check("exists", m["file"], name=text),
        ),
        (
            _LEAD + _NAME + r"\s+(?:contains|includes|mentions)\s+" + _QUOTED + "$",
            lambda m: _check("contains", m["file"], m["text"], text),
        ),
        (
            _LEAD + _NAME + r"\s+matches\s+(?:the\s+)?(?:pattern|regex)\s+" + _QUOTED + "$",
            lambda m: _check("regex", m["file"], m["text"], text),
        ),
        (
            _LEAD + _NAME + r"\s+is\s+valid\s+json$",
            lambda m: _check("json-keys", m["file"], name=text),
        ),
        (
            _LEAD
            + _NAME
            + r"\s+is\s+(?:a\s+)?json\s+object\s+with\s+(?:the\s+)?keys?\s+(?P<keys>.+)$",
            lambda m: _check(
                "json-keys",
                m["file"],
                ", ".join(re.findall(r"[`'\"]([^`'\"]+)[`'\"]", m["keys"])),
                text,
            ),
        ),
        (
            _LEAD
            + _NAME
            + r"\s+(?:has|starts\s+with)\s+(?:the\s+)?(?:csv\s+)?header\s+"
            + _QUOTED
            + "$",
            lambda m: _check("csv-header", m["file"], m["text"], text),
        ),
        (
            r"^(?:running\s+|the\s+command\s+)?`(?P<command>[^`]+)`\s+(?:exits\s+(?:with\s+)?0|succeeds)$",
            lambda m: _check("command", value=m["command"], name=text),
        ),
    ]
    for pattern, build in forms:
        found = re.match(pattern, said, re.I)
        if found and ("keys" not in found.groupdict() or re.search(r"[`'\"]", found["keys"] or "")):
            try:
                return build(found)
            except TaskError:
                break  # e.g. a pattern that does not compile: a judge reads the sentence

    return {"method": "llm-judge", "rubric": text, "name": text}
