"""Where a task's values sit in its prompt, and rules that find them again in a new one.

A rule is a short string, learned from the runs a template came from and kept only if it
found the right value in every one of them:

- `after:<word>`  the value right after this word ("by region", "Write report.json")
- `nth:<class>:<i>`  the i-th value of its class in the prompt (files by extension,
  numbers, words)
- `folder:<ext>`  the only file with this extension in the work folder (input files)
- `new:<ext>`  the only file with this extension the prompt names that the folder lacks
  (output files)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(
    r"(?P<file>(?:[\w.\-]+/)*[\w\-][\w.\-]*\.[A-Za-z][A-Za-z0-9]{0,5}(?![\w]))"
    r"|(?P<number>(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]\w))"
    r"|(?P<word>[A-Za-z_][\w\-]*)"
)
# Words of the task's own language, never a value that changes between tasks.
STOPWORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "each",
        "every",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "json",
        "csv",
        "txt",
        "of",
        "on",
        "one",
        "or",
        "per",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "which",
        "with",
        "write",
        "writes",
        "file",
        "files",
        "folder",
        "mapping",
        "map",
        "number",
        "numbers",
        "total",
        "totals",
        "value",
        "values",
    )
)


@dataclass(frozen=True)
class Token:
    kind: str  # file | number | word
    text: str
    before: str  # the word before it, lower case ("" at the start)

    @property
    def value_class(self) -> str:
        if self.kind == "file":
            return "file" + Path(self.text).suffix.lower()
        return self.kind


def tokens(prompt: str) -> list[Token]:
    found: list[Token] = []
    previous = ""
    for match in _TOKEN.finditer(prompt):
        kind = match.lastgroup or "word"
        text = match.group(0).rstrip(".")
        if kind == "file" and "." not in text:
            kind = "word"
        found.append(Token(kind, text, previous))
        previous = text.lower() if kind == "word" else ""
    return found


def candidate_values(prompt: str) -> list[Token]:
    """The prompt's values that may be a task's parameters: files, numbers, and words that
    are not the task's own language (first occurrence of each)."""
    seen: set[str] = set()
    found = []
    for token in tokens(prompt):
        if token.text in seen:
            continue
        if token.kind == "word" and (len(token.text) < 3 or token.text.lower() in STOPWORDS):
            continue
        seen.add(token.text)
        found.append(token)
    return found


def locators_for(prompt: str, value: str) -> list[str]:
    """Every rule that finds `value` in this prompt."""
    values = tokens(prompt)
    hits = [t for t in values if t.text == value]
    if not hits:
        return []
    first = hits[0]
    rules = []
    if first.before and first.before not in {"a", "an", "the"}:
        rules.append(f"after:{first.before}")
    same_class = [t.text for t in values if t.value_class == first.value_class]
    distinct = list(dict.fromkeys(same_class))
    rules.append(f"nth:{first.value_class}:{distinct.index(value)}")
    return rules


def learn_locators(examples: list[tuple[str, str]], kind: str) -> list[str]:
    """The rules that are right on every example where they find anything, and right on
    at least two (one, with a single example): several phrasings of one job each teach
    their own rule, and no rule that ever found a wrong value is kept."""
    candidates = list(
        dict.fromkeys(r for prompt, value in examples for r in locators_for(prompt, value))
    )
    needed = min(2, len(examples))
    learned = []
    for rule in candidates:
        found = [(apply_locator(rule, prompt), value) for prompt, value in examples]
        right = sum(1 for got, value in found if got == value)
        if right >= needed and all(got in (None, value) for got, value in found):
            learned.append((right, rule))
    rules = [rule for _, rule in sorted(learned, key=lambda item: -item[0])]
    suffix = Path(examples[0][1]).suffix.lower() if examples else ""
    if kind == "input_file" and suffix:
        rules.append(f"folder:{suffix}")
    if kind == "output_file" and suffix:
        rules.append(f"new:{suffix}")
    return rules


def apply_locator(rule: str, prompt: str, folder: Path | None = None) -> str | None:
    """The value `rule` finds for a new task, or None (folder rules need the folder)."""
    kind, _, arg = rule.partition(":")
    values = tokens(prompt)
    if kind == "after":
        for token in values:
            if token.before == arg:
                return token.text
        return None
    if kind == "nth":
        value_class, _, index = arg.rpartition(":")
        distinct = list(dict.fromkeys(t.text for t in values if t.value_class == value_class))
        position = int(index) if index.isdigit() else -1
        return distinct[position] if 0 <= position < len(distinct) else None
    if folder is None:
        return None
    if kind == "folder":
        matches = [
            p.name
            for p in sorted(folder.iterdir())
            if p.is_file() and not p.is_symlink() and p.suffix.lower() == arg
        ]
        return matches[0] if len(matches) == 1 else None
    if kind == "new":
        named = dict.fromkeys(
            t.text for t in values if t.kind == "file" and Path(t.text).suffix.lower() == arg
        )
        missing = [name for name in named if not (folder / name).exists()]
        return missing[0] if len(missing) == 1 else None
    return None
