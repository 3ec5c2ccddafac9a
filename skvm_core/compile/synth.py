"""Small inputs for compile-time verification, synthesised from the skill itself.

A command's input files are made from what the skill shows about them: a JSON, CSV or text
example block of the skill for a file of that kind, the skill's `CREATE TABLE` statements for
a database, or, for a CSV with no example, a header of the words the command passes as
column names and a few rows of small numbers (they parse as numbers and group as keys);
JSON records with those names as keys likewise.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

from skvm_core.compile.commandline import is_path
from skvm_core.skill import Skill

_TEXT_LANGS = {"text", "txt", "log", "plain", ""}


def _blocks(skill: Skill, languages: set[str]) -> list[str]:
    return [b.code for b in skill.ir.code_blocks if b.language.lower() in languages]


def _json_example(skill: Skill) -> str | None:
    for code in _blocks(skill, {"json", "jsonl"}):
        try:
            json.loads(code)
        except ValueError:
            continue
        return code if code.endswith("\n") else code + "\n"
    return None


def _create_statements(skill: Skill) -> str:
    return "\n".join(c for c in _blocks(skill, {"sql"}) if "create table" in c.lower())


def _sqlite_bytes(schema: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="skvm-synth-") as folder:
        path = Path(folder) / "synth.db"
        connection = sqlite3.connect(path)
        try:
            connection.executescript(schema)
            connection.commit()
        except sqlite3.Error:
            pass  # an empty database still lets the command open it
        finally:
            connection.close()
        return path.read_bytes()


def csv_from_columns(columns: list[str], rows: int = 4) -> str:
    names = list(dict.fromkeys(columns)) or ["name", "value"]
    lines = [",".join(names)]
    for row in range(rows):
        lines.append(",".join(str((row + col) % 2 + 1) for col in range(len(names))))
    return "\n".join(lines) + "\n"


def synthesize(skill: Skill, path: str, columns: list[str]) -> bytes:
    """Content for an input file named `path`, from the skill's own examples."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("json", "jsonl", "ndjson"):
        shown = _json_example(skill)
        if shown:
            return shown.encode()
        records = [
            {name: (row + col) % 2 + 1 for col, name in enumerate(columns)} for row in range(3)
        ]
        if suffix == "json":
            return (json.dumps(records) + "\n").encode()
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    if suffix in ("csv", "tsv"):
        shown = _blocks(skill, {"csv", "tsv"})
        if shown:
            return shown[0].encode() + (b"" if shown[0].endswith("\n") else b"\n")
        text = csv_from_columns(columns)
        return (text.replace(",", "\t") if suffix == "tsv" else text).encode()
    if suffix == "sql":
        return (_create_statements(skill) + "\n").encode()
    if suffix in ("db", "sqlite", "sqlite3"):
        return _sqlite_bytes(_create_statements(skill))
    text = "\n".join(c.rstrip("\n") for c in _blocks(skill, _TEXT_LANGS) if c.strip())
    return (text or "example line one\nexample line two").encode() + b"\n"


def value_words(args: list[str]) -> list[str]:
    """The words a command passes as values that look like names (column names, keys)."""
    words = []
    for flag, value in zip(args, args[1:], strict=False):
        if (
            flag.startswith("-")
            and not value.startswith("-")
            and not is_path(value)
            and value.replace("_", "").replace("-", "").isalnum()
            and not value.replace(".", "").isdigit()
        ):
            words.append(value)
    return words
