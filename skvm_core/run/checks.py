"""The checks an author picks for a task (a form, not JSON): each kind becomes the task
criterion that checks it, so the workbench, `skvm task new` and words-to-checks agree."""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, Field

from skvm_core.run.task import TaskError

CheckKind = Literal["exists", "equals", "contains", "regex", "json-keys", "csv-header", "command"]

# What each kind asks of the author, in the words the form and the CLI show.
CHECK_KINDS: dict[str, str] = {
    "exists": "the output file exists",
    "equals": "the output file equals a text",
    "contains": "the output file contains a text",
    "regex": "the output file matches a regular expression",
    "json-keys": "the output file is JSON with these keys (comma-separated; none: any JSON)",
    "csv-header": "the output file is a CSV starting with this header line",
    "command": "a command exits 0 in the work folder",
}
NEEDS_VALUE = frozenset({"equals", "contains", "regex", "csv-header", "command"})


class CheckSpec(BaseModel):
    kind: CheckKind
    file: str = ""  # the output file, relative to the work folder (not for `command`)
    value: str = ""  # the text, pattern, keys, header or command
    name: str | None = Field(default=None, description="shown in scores; default: the check said")

    def said(self) -> str:
        if self.kind == "command":
            return f"`{self.value}` exits 0"
        shown = {"exists": "exists", "json-keys": f"is JSON with keys {self.value}"}
        return f"{self.file} " + shown.get(self.kind, f"{self.kind} {self.value!r}")


def _problem(spec: CheckSpec) -> str | None:
    if spec.kind != "command":
        file = spec.file.strip()
        if not file:
            return "name the output file it checks"
        if file.startswith("/") or ".." in re.split(r"[\\/]", file):
            return f"{file!r} must be a path inside the work folder"
    if spec.kind in NEEDS_VALUE and not spec.value.strip():
        return f"a {spec.kind} check needs a value: {CHECK_KINDS[spec.kind]}"
    if spec.kind == "regex":
        try:
            re.compile(spec.value)
        except re.error as exc:
            return f"the pattern does not compile: {exc}"
    return None


def _json_document(file: str, text: str) -> tuple[object] | None:
    """The JSON value of an expected `.json` file (in a 1-tuple; None when not JSON)."""
    if not file.lower().endswith(".json"):
        return None
    try:
        return (json.loads(text),)
    except ValueError:
        return None


def check_criterion(spec: CheckSpec) -> dict:
    """The task criterion for one check; a TaskError says what the author must fix."""
    problem = _problem(spec)
    if problem:
        raise TaskError(f"check {spec.kind}: {problem}", hint=CHECK_KINDS[spec.kind])
    name = spec.name or spec.said()
    if spec.kind == "command":
        return {"method": "script", "command": spec.value, "name": name}
    file = spec.file.strip()

    def file_check(mode: str, expected) -> dict:
        return {
            "method": "file-check",
            "path": file,
            "mode": mode,
            "expected": expected,
            "name": name,
        }

    if spec.kind == "exists":
        return file_check("regex", r"[\s\S]*")
    if spec.kind == "equals":
        document = _json_document(file, spec.value)
        if document is not None:  # the same document however it is spaced or ordered
            return file_check("json-schema", {"const": document[0]})
        return file_check("exact", spec.value)
    if spec.kind == "contains":
        return file_check("contains", spec.value)
    if spec.kind == "regex":
        return file_check("regex", spec.value)
    if spec.kind == "json-keys":
        keys = [k.strip().strip("`'\"") for k in spec.value.split(",") if k.strip()]
        return file_check("json-schema", {"type": "object", "required": keys} if keys else {})
    header = spec.value.strip("\r\n")
    return file_check("regex", r"\A" + re.escape(header) + r"\r?(?:\n|\Z)")
