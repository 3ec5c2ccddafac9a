"""Merge what several sub-runs wrote into one folder: the step after a fan-out.

Each sub-run handled one item and wrote its files; a file only one of them wrote is taken
as it is, and a file several wrote is merged by its kind: CSV rows and text lines are
concatenated in item order (a CSV header once), JSON arrays are concatenated, JSON
objects are joined key by key, where numbers under the same key are summed when the skill
says its results are summed and are a conflict otherwise (even when equal: each item's
count of 1 is not a count of 1), and other values must agree. Anything that cannot be
merged this way is a `MergeConflict`: the caller then runs the task whole instead.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from skvm_core.errors import SkvmError

MergeRule = Literal["concatenate", "sum"]


class MergeConflict(SkvmError):
    """The sub-runs' outputs do not combine into one file without guessing."""


def merge_files(path: str, versions: list[bytes], rule: MergeRule = "concatenate") -> bytes:
    """One file from the versions the sub-runs wrote, in item order."""
    if len(versions) == 1:
        return versions[0]
    lower = path.lower()
    if lower.endswith(".json"):  # even equal documents: a count of 1 per item is not 1
        return _dump_json(
            path, [_load_json(path, v.decode("utf-8", "replace")) for v in versions], rule
        )
    if all(v == versions[0] for v in versions[1:]):
        return versions[0]
    try:
        texts = [v.decode("utf-8") for v in versions]
    except UnicodeDecodeError as exc:
        raise MergeConflict(f"{path}: binary outputs of several items differ") from exc
    if lower.endswith((".csv", ".tsv")):
        return _concat_csv(path, texts, "\t" if lower.endswith(".tsv") else ",").encode()
    return _concat_lines(texts).encode()


def _load_json(path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MergeConflict(f"{path}: one item's output is not JSON ({exc.msg})") from exc


def _dump_json(path: str, documents: list[Any], rule: MergeRule) -> bytes:
    merged = documents[0]
    for other in documents[1:]:
        merged = _join(path, merged, other, rule)
    return (json.dumps(merged, indent=2, ensure_ascii=False) + "\n").encode()


def _join(where: str, left: Any, right: Any, rule: MergeRule) -> Any:
    if isinstance(left, list) and isinstance(right, list):
        return left + right
    if isinstance(left, dict) and isinstance(right, dict):
        joined = dict(left)
        for key, value in right.items():
            joined[key] = (
                _join(f"{where}: {key}", joined[key], value, rule) if key in joined else value
            )
        return joined
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if numbers and rule == "sum":
        total = left + right
        return round(total, 10) if isinstance(total, float) else total
    if left == right and not numbers:  # a shared label; a number per item is never shared
        return left
    raise MergeConflict(
        f"{where}: the items disagree ({json.dumps(left)[:40]} vs {json.dumps(right)[:40]})"
    )


def _concat_csv(path: str, texts: list[str], delimiter: str) -> str:
    header: list[str] | None = None
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for text in texts:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        if not rows:
            continue
        if header is None:
            header = rows[0]
            writer.writerow(header)
        elif rows[0] != header:
            raise MergeConflict(f"{path}: the items wrote different headers")
        writer.writerows(row for row in rows[1:] if row)
    return out.getvalue()


def _concat_lines(texts: list[str]) -> str:
    lines = [line for text in texts for line in text.splitlines()]
    return "\n".join(lines) + ("\n" if lines else "")
