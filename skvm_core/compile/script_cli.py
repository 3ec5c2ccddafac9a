"""The command-line interface of a bundled script, read from its own `--help` (run in the
sandbox at compile time) so the lowered skill can show every way to call it.

argparse's usage line is regular enough to read: `[...]` is optional, `(a | b)` is a
required choice, `--flag METAVAR` takes a value, a bare lower-case word is a positional.
A script whose help is not of that shape gets no interface; the lowering then shows the
skill's own example command instead.
"""

from __future__ import annotations

import itertools
import re

from pydantic import BaseModel, Field

MAX_FORMS = 6


class Argument(BaseModel):
    flag: str | None = None  # None for a positional
    metavar: str | None = None  # None for a switch (store_true)
    help: str = ""
    required: bool = True

    @property
    def placeholder(self) -> str:
        name = self.metavar or (self.flag or "").lstrip("-")
        return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "VALUE"

    def render(self) -> str:
        if self.flag is None:
            return self.placeholder
        return self.flag if self.metavar is None else f"{self.flag} {self.placeholder}"


class ScriptInterface(BaseModel):
    positionals: list[Argument] = Field(default_factory=list)
    # Required options in usage order; a slot of several is a choice of exactly one.
    slots: list[list[Argument]] = Field(default_factory=list)
    optional: list[Argument] = Field(default_factory=list)

    def forms(self) -> list[list[Argument]]:
        """Every complete call shape: positionals first (as people write them), then the
        required options with one pick per choice."""
        picks = list(itertools.product(*self.slots))[:MAX_FORMS]
        return [self.positionals + list(pick) for pick in picks]

    def all_arguments(self) -> list[Argument]:
        return self.positionals + [a for slot in self.slots for a in slot] + self.optional


def _usage_text(help_text: str) -> str | None:
    match = re.search(r"^usage:\s*(.*?)(?:\n\s*\n|\Z)", help_text, re.DOTALL | re.MULTILINE)
    if not match:
        return None
    return " ".join(match.group(1).split())


def _tokens(usage: str) -> list[str]:
    """Top-level tokens, keeping bracketed groups (which may nest) whole."""
    tokens, depth, current = [], 0, ""
    for char in usage:
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        if char == " " and depth == 0:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens


def _pairs(words: list[str]) -> list[Argument]:
    """`--flag METAVAR` and bare `--switch` words into arguments."""
    arguments: list[Argument] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("-"):
            following = words[index + 1] if index + 1 < len(words) else ""
            if following and not following.startswith("-") and following not in "|":
                arguments.append(Argument(flag=word, metavar=following.strip("[]")))
                index += 2
                continue
            arguments.append(Argument(flag=word))
        elif word != "|" and not word.startswith("..."):
            arguments.append(Argument(metavar=word))
        index += 1
    return arguments


def _option_help(help_text: str) -> dict[str, str]:
    """Flag or positional name → its help text, from the option listing."""
    helps: dict[str, str] = {}
    current: str | None = None
    for line in help_text.splitlines():
        entry = re.match(r"^  (\S.*?)(?:\s{2,}(\S.*))?$", line)
        if entry and not line.startswith("   "):
            names = re.findall(r"(--?[\w-]+)", entry.group(1)) or [entry.group(1).split()[0]]
            current = max(names, key=len)
            helps[current] = (entry.group(2) or "").strip()
        elif current and line.startswith("   ") and line.strip():
            helps[current] = f"{helps[current]} {line.strip()}".strip()
        elif not line.strip():
            current = None
    return helps


def parse_help(help_text: str) -> ScriptInterface | None:
    usage = _usage_text(help_text)
    if not usage:
        return None
    tokens = _tokens(usage)[1:]  # drop the program name
    helps = _option_help(help_text)
    interface = ScriptInterface()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("["):
            for argument in _pairs(_tokens(token[1:-1])):
                if argument.flag not in ("-h", "--help"):
                    interface.optional.append(argument.model_copy(update={"required": False}))
        elif token.startswith("("):
            alternatives = [a.strip() for a in token[1:-1].split("|")]
            group = [arg for alt in alternatives for arg in _pairs(alt.split())[:1]]
            if group:
                interface.slots.append(group)
        elif token.startswith("-"):
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if following and not following.startswith(("-", "[", "(")) and following.isupper():
                interface.slots.append([Argument(flag=token, metavar=following)])
                index += 1
            else:
                interface.slots.append([Argument(flag=token)])
        elif not token.startswith("..."):
            interface.positionals.append(Argument(metavar=token))
        index += 1
    for argument in interface.all_arguments():
        key = argument.flag or argument.metavar or ""
        argument.help = helps.get(key, "")
    return interface
