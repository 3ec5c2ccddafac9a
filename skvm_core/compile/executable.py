"""Executable help: the scripts a variant offers as the primary path, each with its call
shapes and the evidence that it runs.

For every bundled script the skill tells the agent to run, the pass reads the script's
interface from its own `--help` (in the sandbox), runs the skill's example command on inputs
synthesised from the skill, and, where the skill says to repeat a command once per file,
builds and runs the loop that does so. Scripts that do not even start are not offered.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from skvm_core.compile.analyze import LOOP_WORDS
from skvm_core.compile.commandline import (
    SCRIPT_SUFFIXES,
    CommandLine,
    commands_in_skill,
    parse_command,
)
from skvm_core.compile.extract import extract_script, python_examples
from skvm_core.compile.script_cli import ScriptInterface, parse_help
from skvm_core.compile.synth import synthesize, value_words
from skvm_core.compile.verifier import Check, Verifier
from skvm_core.compile.verify import Verification
from skvm_core.skill import Skill

MAX_EXAMPLES = 6  # example commands of one script checked (each, and all in order)
CHAIN_MARK = ": the examples in order; "  # a shell no-op that marks the chained check
REPEAT_WORDS = re.compile(
    r"\b(repeat|once per|for each|for every|each (?:file|input|one|record|document)|every (?:file|input|record|document))\b",
    re.IGNORECASE,
)


class Loop(BaseModel):
    """A command the skill says to repeat per file, as one shell loop over the folder."""

    setup: list[str] = Field(default_factory=list)  # lines before it in the block (mkdir -p)
    command: str  # the loop, with CAPITAL placeholders for per-task values
    concrete: str  # the same loop with the skill's example values (what was verified)
    folder: str
    pattern: str
    verification: Verification
    lines: tuple[int, int]


class ScriptHelp(BaseModel):
    script: str
    runner: str
    origin: str = "bundled"  # or "extracted" (written by the compiler from a code block)
    text: str | None = None  # the script itself, for one the compiler wrote
    interface: ScriptInterface | None = None
    examples: list[CommandLine] = Field(default_factory=list)
    checks: list[Verification] = Field(default_factory=list)
    loop: Loop | None = None
    lines: tuple[int, int] | None = None  # SKILL.md lines that mention or hold it

    @property
    def starts(self) -> bool:
        """It ran at least once: its help, or an example."""
        return any(c.passed for c in self.checks)

    @property
    def example_passed(self) -> bool:
        return any(c.passed and "--help" not in c.command for c in self.checks)

    def verified_examples(self) -> list[CommandLine]:
        """The skill's example commands that ran: on their own, or in the skill's order
        after the ones before them (`init` before `add`)."""
        chained = any(c.passed and c.command.startswith(CHAIN_MARK) for c in self.checks)
        alone = {c.command for c in self.checks if c.passed}
        return [e for e in self.examples if chained or any(a.endswith(e.text) for a in alone)]


def bundle_files(skill: Skill) -> dict[str, bytes]:
    return {f.path: (skill.root / f.path).read_bytes() for f in skill.files}


def input_files(skill: Skill, command: CommandLine) -> dict[str, bytes]:
    columns = value_words(command.args)
    bundled = {f.path for f in skill.files}
    return {p: synthesize(skill, p, columns) for p in command.inputs if p not in bundled}


def _output_dirs(outputs: list[str]) -> str:
    folders = sorted({str(PurePosixPath(o).parent) for o in outputs} - {"."})
    return f"mkdir -p {' '.join(shlex.quote(f) for f in folders)} && " if folders else ""


def script_help(skill: Skill, verifier: Verifier | None = None) -> list[ScriptHelp]:
    """The bundled scripts the skill runs, then one script per example Python block (offered
    only where no bundled script is, and only once verified)."""
    verifier = verifier or Verifier()
    bundled = _bundled_help(skill, verifier)
    return bundled + _extracted_help(skill, {h.script for h in bundled}, verifier)


def _extracted_help(skill: Skill, taken: set[str], verifier: Verifier) -> list[ScriptHelp]:
    planned = []
    taken = taken | {f.path for f in skill.files}
    files = bundle_files(skill)
    for code, lines, title in python_examples(skill):
        extracted = extract_script(skill, code, lines, title, taken)
        if extracted is None:
            continue
        taken.add(extracted.path)
        example = parse_command(extracted.example_command(), {extracted.path}, lines[0])
        if example is None:
            continue
        layout = {**files, extracted.path: extracted.text.encode()}
        checks = [
            Check(f"python3 {extracted.path} --help", layout),
            Check(
                _output_dirs(example.outputs) + example.text,
                {**layout, **input_files(skill, example)},
                example.outputs,
            ),
        ]
        planned.append((extracted, example, lines, checks))
    done = iter(verifier.verify_all([c for *_, checks in planned for c in checks]))
    helps = []
    for extracted, example, lines, checks in planned:
        help_check, run_check = (next(done) for _ in checks)
        helps.append(
            ScriptHelp(
                script=extracted.path,
                runner="python3",
                origin="extracted",
                text=extracted.text,
                interface=parse_help(help_check.output) if help_check.passed else None,
                examples=[example],
                checks=[help_check, run_check],
                lines=lines,
            )
        )
    return helps


def _bundled_help(skill: Skill, verifier: Verifier) -> list[ScriptHelp]:
    scripts = {f.path for f in skill.files if f.path.endswith(SCRIPT_SUFFIXES) and f.is_text}
    commands = commands_in_skill(skill.source, scripts)
    mentioned = [s for s in sorted(scripts) if any(c.script == s for c in commands)]
    files = bundle_files(skill)
    planned = []
    for script in mentioned:
        examples = [c for c in commands if c.script == script]
        runner = examples[0].runner
        checks = [Check(f"{runner} {shlex.quote(script)} --help", files)]
        shown = examples[:MAX_EXAMPLES]
        for example in shown:
            layout = {**files, **input_files(skill, example)}
            checks.append(
                Check(_output_dirs(example.outputs) + example.text, layout, example.outputs)
            )
        if len(shown) > 1:  # later commands may need what earlier ones made (a ledger, a db)
            # A path every example passes is the tool's own state: the chain makes it.
            state = set.intersection(*(set(e.inputs) for e in shown))
            layout = {
                k: v for e in shown for k, v in input_files(skill, e).items() if k not in state
            }
            outputs = [o for e in shown for o in e.outputs]
            chain = " && ".join(_output_dirs(e.outputs) + e.text for e in shown)
            checks.append(Check(f"{CHAIN_MARK}{chain}", {**files, **layout}, outputs))
        planned.append((script, examples, runner, checks))
    done = iter(verifier.verify_all([c for *_, checks in planned for c in checks]))
    helps = []
    for script, examples, runner, checks in planned:
        results = [next(done) for _ in checks]
        help_check = results[0]
        interface = parse_help(help_check.output) if help_check.passed else None
        lines = [c.line for c in examples if c.line]
        helps.append(
            ScriptHelp(
                script=script,
                runner=runner,
                interface=interface,
                examples=examples,
                checks=results,
                loop=_loop(skill, examples, interface, files, verifier),
                lines=(min(lines), max(lines)) if lines else None,
            )
        )
    return helps


def _loop(
    skill: Skill,
    examples: list[CommandLine],
    interface: ScriptInterface | None,
    files: dict[str, bytes],
    verifier: Verifier,
) -> Loop | None:
    """The per-file loop, when the skill shows a command on one file in a folder and says
    to repeat it for each."""
    lines = skill.source.splitlines()
    for example in examples:
        folder_inputs = [p for p in example.inputs if "/" in p]
        if not folder_inputs or example.line is None:
            continue
        block = next(
            (b for b in skill.ir.code_blocks if b.span.start <= example.line <= b.span.end),
            None,
        )
        start, end = (block.span.start, block.span.end) if block else (example.line, example.line)
        around = "\n".join(lines[max(0, start - 4) : min(len(lines), end + 4)])
        if not REPEAT_WORDS.search(around) and not LOOP_WORDS.search(around):
            continue
        path = PurePosixPath(folder_inputs[0])
        folder, suffix, stem = str(path.parent), path.suffix, path.stem
        setup = []
        if block:
            for raw in block.code.splitlines():
                if raw.strip() == example.text:
                    break
                if raw.strip() and not raw.strip().startswith("#"):
                    setup.append(raw.strip())
        per_file = f'$(basename "$f" {suffix})' if suffix else '$(basename "$f")'
        concrete = _loop_text(example, str(path), stem, per_file, folder, suffix, None)
        generic = _loop_text(example, str(path), stem, per_file, folder, suffix, interface)
        second = f"{folder}/{stem}-b{suffix}"
        layout = {**files, **input_files(skill, example)}
        layout[second] = layout.get(str(path), synthesize(skill, str(path), []))
        outputs = [
            o.replace(stem, f"{stem}-b") for o in example.outputs if stem in o
        ] + example.outputs
        check = verifier.verify(
            _output_dirs(example.outputs) + "\n".join([*setup, concrete]), layout, outputs
        )
        return Loop(
            setup=setup,
            command=generic,
            concrete=concrete,
            folder=folder,
            pattern=f"*{suffix}",
            verification=check,
            lines=(start, end),
        )
    return None


def _loop_text(
    example: CommandLine,
    path: str,
    stem: str,
    per_file: str,
    folder: str,
    suffix: str,
    interface: ScriptInterface | None,
) -> str:
    placeholders = _value_placeholders(example, interface) if interface else {}
    words = []
    skip_next = False
    for word in example.args:
        if skip_next:
            skip_next = False
            continue
        if word == path:
            words.append('"$f"')
        elif word in placeholders:
            words.append(f"{word} {placeholders[word]}")
            skip_next = True
        elif stem in word:
            words.append(f'"{word.replace(stem, per_file)}"')
        else:
            words.append(shlex.quote(word))
    call = " ".join([example.runner, example.script, *words])
    if example.stdout_to:
        target = example.stdout_to
        call += f' > "{target.replace(stem, per_file)}"' if stem in target else f" >> {target}"
    glob = f"{folder}/*{suffix}"
    return f"for f in {glob}; do {call}; done"


def _value_placeholders(example: CommandLine, interface: ScriptInterface) -> dict[str, str]:
    """Flags whose example value is task-specific (not a file): flag → its placeholder."""
    by_flag = {a.flag: a for a in interface.all_arguments() if a.flag and a.metavar}
    values = example.option_values()
    return {
        flag: by_flag[flag].placeholder
        for flag, value in values.items()
        if flag in by_flag and value not in example.inputs and value not in example.outputs
    }
