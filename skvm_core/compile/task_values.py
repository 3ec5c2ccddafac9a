"""The values a skill says the task gives (a limit, a count, a rate): each with a name a
script option can carry and the default the skill states.

A skill writes these in prose, across wrapped lines: "The task gives the minimum length; if
it gives none, use 3 letters", "`buffer` is the changeover time the task asks for, in
minutes (0 when the task gives none)". A script synthesised for the skill takes each one as
an option, so the task's value reaches the script by name instead of by position, and the
lowered text can say which words of the task fill which option.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

GIVES = re.compile(
    r"\b(?:the task|the user|the request|the prompt)\s+(?:gives|asks for|says|sets|"
    r"specifies|provides|chooses|names)\b|\b(?:given|chosen|set|named) by the (?:task|user)\b"
    r"|\bfrom the task\b",
    re.I,
)
_NONE_GIVEN = (
    r"(?:if it gives none|if the task gives none|when the task gives none|if none is given|"
    r"unless the task says otherwise|unless the task gives (?:one|another)|by default|"
    r"when it gives none|if it does not say|if the task does not say)"
)
_VALUE = r"`?(-?\d+(?:\.\d+)?|[A-Za-z_][\w.-]*)`?"
# "(40 if it gives none)", "10 unless the task says otherwise"
_DEFAULT_BEFORE = re.compile(_VALUE + r"(?:\s+[a-z%]+)?\s+" + _NONE_GIVEN, re.I)
# "if it gives none, use 3 letters", "defaults to 5", "by default 0"
_DEFAULT_AFTER = re.compile(
    r"(?:"
    + _NONE_GIVEN
    + r"|defaults? to|default is|default:)[,:]?\s+(?:use\s+|it is\s+)?"
    + _VALUE,
    re.I,
)
_DETERMINER = r"(?:the|a|an|its|each)"
_NOUN_WORD = r"[a-z][a-z-]*"
_STOP_WORDS = {
    "task", "user", "file", "files", "value", "values", "number", "one", "it", "that",
    "which", "this", "what", "how", "to", "for", "in", "of", "and", "or", "as", "is",
    "be", "with", "by", "name", "names", "text", "output", "input",
}  # fmt: skip
# "`buffer` is the …", "`STEP`: the …": a named value defined in the sentence itself.
_NAMED = re.compile(
    r"^\s*(?:[-*]|\d+[.)])?\s*(?:and|where|with|here)?\s*`([A-Za-z_][\w-]{0,30})`\s*(?:is\b|:|—|-\s)"
)
# Files the task names are the contract's inputs and outputs, not values.
_FILE_WORDS = re.compile(r"\b(?:file|files|csv|json|log|folder|directory|path|listing)\b", re.I)
# "the weekly limit the task gives": the noun phrase the relative clause qualifies.
_BEFORE_GIVES = re.compile(
    rf"\b{_DETERMINER}\s+((?:{_NOUN_WORD}\s+){{0,2}}{_NOUN_WORD})\s+(?:that\s+)?$", re.I
)
# "the task gives the minimum length": the object of the verb.
_AFTER_GIVES = re.compile(
    rf"^\s*(?:{_DETERMINER}\s+)?((?:{_NOUN_WORD}\s+){{0,2}}?{_NOUN_WORD})"
    r"(?=\s*(?:[.;,:(]|$|\s+(?:in|for|to|as|of|and|if|when|with|that|from)\b))",
    re.I,
)
# "N given by the task", "the top N words, N given by the task"
_LETTER_BEFORE = re.compile(r"\b([A-Z])\s+(?:is\s+)?(?:given|chosen|set) by the task\b")


# "the number of days", "how many rows": a whole number whatever the default looks like.
_COUNT = re.compile(r"\b(?:number of|how many|count of)\b", re.I)


class TaskValue(BaseModel):
    """One value the task gives, as the skill states it."""

    name: str  # an option name: lowercase words joined by hyphens
    text: str  # the sentence that says so
    clause: str = ""  # the part of it that says what the value is ("the minimum the task gives")
    default: str | None = None
    kind: Literal["number", "text"] = "text"
    whole: bool = False  # a count (top N, a number of days): an integer
    lines: tuple[int, int]


def sentences(lines: list[str], first: int, skip: set[int]) -> list[tuple[str, int, int]]:
    """The prose of a markdown text as sentences, each with the lines it spans: wrapped
    lines of a paragraph or list item joined, fenced blocks (`skip`) and headings left out."""
    units: list[tuple[str, list[tuple[int, int]]]] = []  # (text, [(offset, line number)])
    text, starts = "", []

    def close() -> None:
        nonlocal text, starts
        if starts and text.strip():
            units.append((text, starts))
        text, starts = "", []

    for index, line in enumerate(lines):
        stripped = line.strip()
        if index in skip or not stripped or stripped.startswith(("#", "|")):
            close()
            continue
        if re.match(r"(?:[-*]|\d+[.)])\s", stripped):
            close()  # a list item starts a unit of its own
        starts.append((len(text) + 1, first + index))
        text += " " + stripped
    close()
    found = []
    for unit, starts in units:
        # Sentence ends: a period or semicolon before a space and a capital, a backtick or
        # a parenthesis; "e.g." and decimals do not end one.
        for part in re.finditer(r"\S.*?(?:(?<=[a-z0-9)`\]\"'][.;])(?=\s+[A-Z`(])|$)", unit):
            if part.group().strip():
                found.append(
                    (
                        part.group().strip(),
                        _line_at(starts, part.start()),
                        _line_at(starts, part.end() - 1),
                    )
                )
    return found


def _line_at(starts: list[tuple[int, int]], offset: int) -> int:
    return max((line for start, line in starts if start <= offset), default=starts[0][1])


def task_values(lines: list[str], first: int, skip: set[int]) -> list[TaskValue]:
    """Every value the text says the task gives, once per name, in the order stated."""
    values: dict[str, TaskValue] = {}
    for sentence, start, end in sentences(lines, first, skip):
        if not GIVES.search(sentence):
            continue
        for name in _names(sentence):
            if name in values:
                if values[name].default is None:
                    values[name].default = _default(sentence)
                continue
            default = _default(sentence)
            letter = bool(_LETTER_BEFORE.search(sentence))
            numeric = bool(default and re.fullmatch(r"-?\d+(?:\.\d+)?", default))
            values[name] = TaskValue(
                name=name,
                text=re.sub(r"^(?:[-*]|\d+[.)])\s+", "", sentence),
                clause=_clause(sentence),
                default=default,
                kind="number" if numeric or letter or _COUNT.search(sentence) else "text",
                whole=letter
                or bool(default and re.fullmatch(r"-?\d+", default))
                or bool(_COUNT.search(sentence)),
                lines=(start, end),
            )
    return list(values.values())


def _names(sentence: str) -> list[str]:
    named = _NAMED.match(sentence)
    if named:
        definition = sentence[named.end() : named.end() + 40]
        return [] if _FILE_WORDS.search(definition) else [_option(named.group(1))]
    found = []
    for match in GIVES.finditer(sentence):
        before, after = sentence[: match.start()], sentence[match.end() :]
        if re.match(r"\s*otherwise\b", after) or re.search(
            r"\b(?:where|how|as|what|when|if|unless)\s*$", before, re.I
        ):
            continue  # "unless the task says otherwise", "where the task says": no value named
        letter = _LETTER_BEFORE.search(sentence)
        if letter:
            found.append(_letter_name(sentence, letter.group(1)))
        elif match.group(0).lower().startswith(("given", "chosen", "set", "named")):
            phrase = _BEFORE_GIVES.search(before) or re.search(
                rf"((?:{_NOUN_WORD}\s+){{0,1}}{_NOUN_WORD})\s*,?\s*$", before, re.I
            )
            found += _phrases(phrase.group(1) if phrase else "")
        elif match.group(0).lower() == "from the task":
            phrase = re.search(
                rf"(?:take|use|read|get)\s+(?:{_DETERMINER}\s+)?((?:{_NOUN_WORD}\s+){{0,4}}{_NOUN_WORD})\s*$",
                before,
                re.I,
            )
            found += _phrases(phrase.group(1) if phrase else "")
        else:
            phrase = _BEFORE_GIVES.search(before)
            if phrase and not _AFTER_GIVES.match(after):
                found += _phrases(phrase.group(1))
                continue
            which = re.match(rf"\s*which\s+({_NOUN_WORD})\b", after, re.I)
            obj = _AFTER_GIVES.match(after)
            if which:
                found += _phrases(which.group(1))  # "the task says which columns count"
            elif obj:
                found += _phrases(obj.group(1))
            elif phrase:
                found += _phrases(phrase.group(1))
    return [name for name in dict.fromkeys(found) if name]


def _clause(sentence: str) -> str:
    """The part of a sentence that says what the value is, without the default (the
    option states that apart): the whole sentence when short, else its comma-delimited
    part around the words that say the task gives it."""
    text = re.sub(r"^\s*(?:[-*]|\d+[.)])\s+|^\s*(?:and|where|with|here)\s+", "", sentence)
    named = _NAMED.match(text)
    if named:
        begin, after = 0, named.end()
    else:
        matches = [
            m
            for m in GIVES.finditer(text)
            if not _FILE_WORDS.search(text[max(0, m.start() - 25) : m.start()])
        ] or list(GIVES.finditer(text))
        match = matches[-1]
        begin = 0 if len(text) <= 100 else text.rfind(", ", 0, match.start()) + 1
        after = match.start()
    stops = [
        text.find(mark, after)
        for mark in ((" (", "; ", ". ") if len(text) <= 100 else (", ", " (", "; ", ". "))
    ]
    end = min([s for s in stops if s >= 0], default=len(text))
    clause = text[begin:end].strip(" .;,:")
    return clause[0].upper() + clause[1:] if clause else clause


def _letter_name(sentence: str, letter: str) -> str:
    """ "the top N words, N given by the task": the word before the letter names it."""
    found = re.search(rf"\b([a-z]+)\s+{letter}\b(?!\s+(?:is\s+)?given)", sentence)
    word = found.group(1).lower() if found else ""
    return _option(
        word if word and word not in _STOP_WORDS and word not in ("the", "a") else letter
    )


def _phrases(phrase: str) -> list[str]:
    """ "unit and track name" → unit, track-name; function words dropped."""
    names = []
    if _FILE_WORDS.search(phrase):
        return []
    for part in re.split(r"\s+(?:and|or)\s+|,\s*", phrase.strip()):
        words = [w for w in part.lower().split() if w not in _STOP_WORDS]
        if words and not all(w in ("the", "a", "an") for w in words):
            names.append(_option("-".join(w for w in words if w not in ("the", "a", "an"))))
    return names


def _option(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _default(sentence: str) -> str | None:
    for pattern in (_DEFAULT_BEFORE, _DEFAULT_AFTER):
        found = pattern.search(sentence)
        if found and found.group(1).lower() not in ("the", "a", "an", "it", "one", "none"):
            return found.group(1)
    return None
