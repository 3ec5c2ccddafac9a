"""Command lines a skill shows: which script they run, which words are files, which are
inputs or outputs. Shared by the passes that verify and lower a skill's executable help."""

from __future__ import annotations

import re
import shlex

from pydantic import BaseModel, Field

# A relative path with an extension, or a path through a folder ("data/part-1.json").
_PATH = re.compile(r"^(?![-$])(?:[\w.-]+/)*[\w.-]*[\w-]\.[A-Za-z][\w]{0,5}$|^(?:[\w.-]+/)+[\w.-]+$")
OUTPUT_FLAGS = ("--out", "--output", "-o", "--dest", "--to")
RUNNERS = {"python3": "python3", "python": "python3", "bash": "bash", "sh": "bash", "node": "node"}
SCRIPT_SUFFIXES = (".py", ".sh", ".js", ".mjs", ".cjs")
_BY_SUFFIX = {".py": "python3", ".js": "node", ".mjs": "node", ".cjs": "node"}
# `uv run` options that change nothing for a script whose imports are all present.
_UV_QUIET = {"--script", "-q", "--quiet", "--no-project", "--isolated", "--offline"}


def is_path(word: str) -> bool:
    return bool(_PATH.match(word)) and not re.match(r"^\d+(\.\d+)*$", word)


class CommandLine(BaseModel):
    """One concrete command from the skill, split into what the lowering needs."""

    text: str
    runner: str  # python3 or bash
    script: str  # bundle path of the script it runs
    args: list[str]  # the words after the script, redirections removed
    inputs: list[str] = Field(default_factory=list)  # paths read (positional or option values)
    outputs: list[str] = Field(default_factory=list)  # paths written (--out, > redirect)
    stdout_to: str | None = None  # the `> FILE` target, if any
    line: int | None = None  # SKILL.md line it was found on

    def option_values(self) -> dict[str, str]:
        """`--flag value` pairs (a flag followed by a non-flag word)."""
        values: dict[str, str] = {}
        for flag, value in zip(self.args, self.args[1:], strict=False):
            if flag.startswith("-") and not value.startswith("-"):
                values[flag] = value
        return values


def _without_uv_run(words: list[str]) -> tuple[list[str], bool]:
    """`uv run [--script] [python3] X.py args` as `python3 X.py args` (True when changed).
    A `--with` dependency is left as written: only uv can provide it, and a check without
    it fails, so such a command is never shown as verified."""
    if words[:2] != ["uv", "run"]:
        return words, False
    rest = words[2:]
    while rest and rest[0] in _UV_QUIET:
        rest = rest[1:]
    if not rest or rest[0].startswith("-"):
        return words, False
    if rest[0] in ("python", "python3"):
        rest = rest[1:]
    if not rest or not rest[0].endswith(".py"):
        return words, False
    return ["python3", *rest], True


def parse_command(text: str, scripts: set[str], line: int | None = None) -> CommandLine | None:
    """A command that runs one of the bundle's scripts, or None."""
    try:
        words = shlex.split(text.strip().removeprefix("$ "), comments=True)
    except ValueError:
        return None
    words, bound = _without_uv_run(words)
    if len(words) < 2:
        return None
    if words[0] in RUNNERS and words[1] in scripts:
        runner, script, rest = RUNNERS[words[0]], words[1], words[2:]
    elif words[0].removeprefix("./") in scripts:
        script = words[0].removeprefix("./")
        runner, rest = _BY_SUFFIX.get(script[script.rfind(".") :], "bash"), words[1:]
    else:
        return None
    if bound:
        # Bound to the interpreter the sandbox and the target have: the command the
        # lowering shows is the one that was verified.
        text = shlex.join([runner, script, *rest])
    args: list[str] = []
    stdout_to = None
    words_iter = iter(rest)
    for word in words_iter:
        if word in (">", ">>"):
            stdout_to = next(words_iter, None)
            continue
        if word.startswith(">") and len(word) > 1:
            stdout_to = word.lstrip(">")
            continue
        if word in ("|", "&&", ";", "2>&1"):
            break
        args.append(word)
    outputs = [stdout_to] if stdout_to else []
    inputs = []
    for index, word in enumerate(args):
        if not is_path(word):
            continue
        previous = args[index - 1] if index else ""
        (outputs if previous in OUTPUT_FLAGS else inputs).append(word)
    return CommandLine(
        text=text.strip(),
        runner=runner,
        script=script,
        args=args,
        inputs=inputs,
        outputs=outputs,
        stdout_to=stdout_to,
        line=line,
    )


_INLINE = re.compile(r"`([^`\n]+)`")


def commands_in_skill(source: str, scripts: set[str]) -> list[CommandLine]:
    """Every concrete command in the skill (code blocks and inline code) that runs a bundled
    script, in the order they appear."""
    found: list[CommandLine] = []
    in_block = False
    for number, raw in enumerate(source.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            in_block = not in_block
            continue
        candidates = [stripped] if in_block else _INLINE.findall(raw)
        for candidate in candidates:
            command = parse_command(candidate, scripts, number)
            if command is not None:
                found.append(command)
    return found
