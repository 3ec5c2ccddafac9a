"""Lowering: rewrite a skill, for a target too weak to carry out its instructions, into the
few concrete actions the target can take, in the target's own idiom.

The lowered SKILL.md keeps the front matter, the title and the overview (what the skill is
for), then gives a short checklist of concrete commands: the verified scripts the skill
ships (one line per way to call them, filled with the skill's own example values), a
verified loop where the skill says to repeat a command per file, and a check of the result.
Every requirement of the original (output, format and check sections, rules, and steps that
state how the result must look) follows verbatim. Everything else (background, examples,
alternatives) moves to a reference file the model can open but does not read by default.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from skvm_core.compile.commandline import CommandLine
from skvm_core.compile.contract import extract_contract
from skvm_core.compile.executable import ScriptHelp
from skvm_core.compile.model import Gap, SourceMapEntry
from skvm_core.compile.script_cli import Argument
from skvm_core.compile.synth import value_words
from skvm_core.skill import Skill

REFERENCE_FILE = "reference/skill-original.md"
REQUIREMENT_TITLES = re.compile(
    r"\b(output|format|check|rule|constraint|requirement|must|important|limit|verif|valid)",
    re.IGNORECASE,
)
REQUIREMENT_WORDS = re.compile(
    r"\b(round(?:ed|ing)?|decimals?|sorted|sort|keys|exactly|at (?:least|most)|one per line|"
    r"must|never|always|only|do not|don't|format)\b",
    re.IGNORECASE,
)
# Primitives a verified script stands in for: a gap on any of them is what lowering answers.
LOWERED_PRIMITIVES = (
    "gen.code.",
    "reason.",
    "follow.procedure",
    "follow.delegation",
    "tool.exec",
    "tool.call.format",
)
MAX_SCRIPTS = 3


class Idiom(BaseModel):
    """How the lowered text tells this target to act: it follows the shape literally."""

    run: str
    finish: str

    @classmethod
    def for_protocol(cls, protocol: str, harness: str = "bare") -> Idiom:
        """In our agent, the protocol's way; in an external harness, its own shell tool by
        the name that harness gives it (it calls tools its own way, whatever the protocol)."""
        if harness != "bare":
            tool = HARNESS_SHELL_TOOLS.get(harness, "bash")
            return cls(
                run=f"call the tool `{tool}` with this command",
                finish="Then give a one-line answer.",
            )
        if protocol == "code-act":
            return cls(run="reply with this block", finish="Then reply DONE.")
        return cls(
            run="call the tool `execute_command` with this command",
            finish="Then give a one-line answer.",
        )


# The shell tool each external harness offers its model.
HARNESS_SHELL_TOOLS = {
    "opencode": "bash",
    "codex": "exec_command",
    "claude-code": "Bash",
    "pi": "bash",
}


class Requirement(BaseModel):
    text: str
    lines: tuple[int, int]


class LoweredSkill(BaseModel):
    text: str
    source_map: list[SourceMapEntry]
    files: dict[str, str] = Field(default_factory=dict)  # extra variant files: path → text
    requirements: list[Requirement] = Field(default_factory=list)
    # Requirement lines left out on purpose, with why (they name an artifact of a replaced
    # step, such as the script the original asked the model to write).
    replaced: list[str] = Field(default_factory=list)


def wants_lowering(gaps: list[Gap]) -> bool:
    return any(
        g.gap_type != "unknown" and g.primitive_id.startswith(LOWERED_PRIMITIVES) for g in gaps
    )


def offered(helps: list[ScriptHelp]) -> list[ScriptHelp]:
    """Scripts good enough to be the primary path: the bundled ones that start; failing
    those, the ones the compiler wrote from examples that did their job on synthesised
    input (an unverified script is never offered)."""
    bundled = [h for h in helps if h.origin == "bundled" and h.starts]
    written = [h for h in helps if h.origin != "bundled" and h.example_passed]
    return (bundled or written)[:MAX_SCRIPTS]


def requirements_of(skill: Skill) -> list[Requirement]:
    """What the original demands of the result: every line of its output, format, check and
    rule sections, and the steps and overview sentences that say how the result must be."""
    lines = skill.source.splitlines()
    found: list[Requirement] = []
    in_code = _code_lines(skill)
    for section in _requirement_sections(skill):
        for number in range(section.span.start + 1, section.span.end + 1):
            text = lines[number - 1].strip()
            if text and number not in in_code:
                found.append(Requirement(text=text, lines=(number, number)))
    covered = {r.lines[0] for r in found}
    for procedure in skill.ir.procedures:
        for item in procedure.items:
            if item.span.start not in covered and REQUIREMENT_WORDS.search(item.text):
                found.append(Requirement(text=item.text, lines=(item.span.start, item.span.end)))
    covered = {r.lines[0] for r in found} | in_code
    # The contract's rules, wherever they stand (an Input section's "skip blank lines"): a
    # lowering keeps every one, and the guard checks it did.
    for rule in extract_contract(skill).rules:
        line = rule.cited.lines[0]
        if rule.cited.file == "SKILL.md" and line not in covered:
            covered.add(line)
            text = re.sub(r"^(?:[-*+]|\d+[.)])\s+", "", lines[line - 1].strip())
            found.append(Requirement(text=text, lines=(line, line)))
    return sorted(found, key=lambda r: r.lines)


def _code_lines(skill: Skill) -> set[int]:
    return {n for b in skill.ir.code_blocks for n in range(b.span.start, b.span.end + 1)}


def _requirement_sections(skill: Skill):
    return [s for s in skill.ir.sections if s.level >= 2 and REQUIREMENT_TITLES.search(s.title)]


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)
    source_map: list[SourceMapEntry] = field(default_factory=list)

    def add(
        self,
        text: list[str],
        source: tuple[int, int] | None,
        rule: str,
        gap: Gap | None = None,
    ) -> None:
        if self.lines and self.lines[-1].strip():
            self.lines.append("")
        first = len(self.lines) + 1
        self.lines.extend(text)
        self.source_map.append(
            SourceMapEntry(
                variantLines=(first, len(self.lines)),
                sourceLines=source,
                primitiveId=gap.primitive_id if gap else None,
                gap=gap.label if gap else None,
                rule=rule,
                **{"pass": "lower"},
            )
        )


# Detail a lowering drops, in this order, until the text fits the original's length.
COMMAND_ALLOWANCE = 64  # tokens
FOOTER_START = "Background and the original steps:"
TRIMS = ("full", "choice meanings", "no meanings", "no inspection", "no footer")


def lower(
    skill: Skill, helps: list[ScriptHelp], gaps: list[Gap], protocol: str, harness: str = "bare"
) -> LoweredSkill:
    """The shortest-needed lowering: full detail if it fits in the original's tokens, else
    less (meanings of every argument, then of choices, then the inspection step)."""

    from skvm_core.agent.history import reading_tokens
    from skvm_core.skill.frontmatter import split_front_matter

    candidates = [_lower(skill, helps, gaps, protocol, trim, harness) for trim in TRIMS]
    budget = reading_tokens(skill.body)
    for lowered in candidates:  # the fullest lowering no longer than the original
        if reading_tokens(split_front_matter(lowered.text).body) <= budget:
            return lowered
    # Failing that (a short skill's own words can be fewer than a command's), the fullest
    # whose text to act on is within the original's plus room for one command.
    for lowered in candidates:
        before, after = acting_tokens(skill, lowered.text)
        if after <= before + COMMAND_ALLOWANCE:
            return lowered
    return candidates[-1]


def _lower(
    skill: Skill,
    helps: list[ScriptHelp],
    gaps: list[Gap],
    protocol: str,
    trim: str,
    harness: str = "bare",
) -> LoweredSkill:
    idiom = Idiom.for_protocol(protocol, harness)
    source = skill.source.splitlines()
    writer = _Writer(lines=source[: skill.body_start_line - 1])
    main_gap = max(
        (g for g in gaps if g.primitive_id.startswith(LOWERED_PRIMITIVES)),
        key=lambda g: (g.severity, g.primitive_id),
        default=None,
    )
    title, overview = _overview(skill)
    if title is not None:
        writer.add([source[title - 1]], (title, title), "keep:title")
    if overview:
        writer.add([source[n - 1] for n in overview], (overview[0], overview[-1]), "keep:overview")
    scripts = offered(helps)
    dropped_files = _replaced_scripts(skill, scripts)
    steps = _steps(scripts, idiom, trim)
    mentions = [h.lines for h in scripts if h.lines] + [h.loop.lines for h in scripts if h.loop]
    span = (
        (min(m[0] for m in mentions), max(m[1] for m in mentions))
        if mentions
        else (skill.body_start_line, len(source))
    )
    writer.add(["## Steps", "", *steps], span, "lower:scripts", main_gap)
    requirements = requirements_of(skill)
    replaced: list[str] = [
        f"{r.text} (names a step the lowering replaced)"
        for r in requirements
        if any(name in r.text for name in dropped_files)
    ]
    kept_sections = set()
    offered_paths = [h.script for h in scripts]
    for section in _requirement_sections(skill):
        body = []
        for whole in _paragraphs(source, section.span.start, section.span.end):
            paragraph = []
            # Only the items that say how to call an offered script go (the steps show it);
            # the other rules of the same list stay.
            for item in _items(whole):
                text = "\n".join(item)
                if any(name in text for name in offered_paths) and not item[0].startswith("#"):
                    replaced += [
                        f"{line.strip()} (how to call a script the steps show)" for line in item
                    ]
                else:
                    paragraph += item
            if not paragraph:
                continue
            for line in paragraph:
                if any(n in line for n in dropped_files):
                    replaced.append(f"{line.strip()} (names a step the lowering replaced)")
                else:
                    body.append(line)
            body.append("")
        while body and not body[-1].strip():
            body.pop()
        if len(body) > 1:
            writer.add(body, (section.span.start, section.span.end), "keep:requirements")
            kept_sections.update(range(section.span.start, section.span.end + 1))
    loose = [
        r
        for r in requirements
        if r.lines[0] not in kept_sections and not _is_replaced(r.text, replaced)
    ]
    if loose:
        writer.add(
            ["## Requirements", "", *[f"- {r.text}" for r in loose]],
            (loose[0].lines[0], loose[-1].lines[1]),
            "keep:requirements",
        )
    if trim != "no footer":  # the bundle listing names the file in any case
        writer.add(
            [f"{FOOTER_START} `{REFERENCE_FILE}` (only if the steps do not fit)."],
            (skill.body_start_line, len(source)),
            "move:reference",
        )
    writer.source_map += _moved_regions(skill, writer, gaps)
    text = "\n".join(writer.lines) + "\n"
    reference = f"# {skill.name}: the original instructions\n\n{skill.body.strip()}\n"
    written = {h.script: h.text for h in scripts if h.text is not None}
    return LoweredSkill(
        text=text,
        source_map=writer.source_map,
        files={REFERENCE_FILE: reference, **written},
        requirements=requirements,
        replaced=replaced,
    )


def _is_replaced(requirement: str, replaced: list[str]) -> bool:
    return any(r.startswith(f"{requirement} (") for r in replaced)


def lowering_guard(original: Skill, lowered: LoweredSkill, *, budget: bool) -> list[str]:
    """A lowering may change how, never what: every requirement of the original is in the
    lowered text unless recorded as replaced, the front matter is untouched, the original
    text is kept in full in the reference file, and (for a weak target) the text the model
    reads by default is no longer than the original."""
    from skvm_core.skill.frontmatter import split_front_matter

    violations = []
    text = lowered.text
    if split_front_matter(text).front_matter.strip() != original.raw_front_matter.strip():
        violations.append("the front matter changed")
    for requirement in requirements_of(original):
        if requirement.text not in text and not _is_replaced(requirement.text, lowered.replaced):
            violations.append(
                f"requirement at line {requirement.lines[0]} was dropped: {requirement.text[:60]!r}"
            )
    if original.body.strip() not in lowered.files.get(REFERENCE_FILE, ""):
        violations.append(f"the original text is not kept in {REFERENCE_FILE}")
    if budget:
        before, after = acting_tokens(original, text)
        # Room for one verified command and the sentence that says what fills its options:
        # on a short skill these alone can outweigh the prose they replace.
        if after > before + COMMAND_ALLOWANCE:
            violations.append(
                f"the text the model acts on is ~{after} tokens, longer than the original's ~{before}"
            )
    return violations


def acting_tokens(original: Skill, lowered_text: str) -> tuple[int, int]:
    """Tokens of the text a model must act on, in the original and in a lowering: the
    rules both keep word for word count on neither side (a rule the weak target needs
    is not bloat; only what replaces the procedure is)."""
    from skvm_core.agent.history import reading_tokens
    from skvm_core.skill.frontmatter import split_front_matter

    body = split_front_matter(lowered_text).body
    # The pointer to the original text is read only when the steps do not fit.
    body = "\n".join(line for line in body.splitlines() if not line.startswith(FOOTER_START))
    kept = [r.text for r in requirements_of(original) if r.text in body]
    shared = sum(reading_tokens(r) for r in kept)
    return reading_tokens(original.body) - shared, reading_tokens(body) - shared


def _moved_regions(skill: Skill, writer: _Writer, gaps: list[Gap]) -> list[SourceMapEntry]:
    """One entry per run of original lines the lowered text no longer has, pointing at
    where the model is sent instead (the reference note, else the steps) and at the gap
    those lines carried."""
    present = {line.strip() for line in writer.lines if line.strip()}
    source = skill.source.splitlines()
    pointer = next(
        (e for e in writer.source_map if e.rule == "move:reference"),
        next(e for e in writer.source_map if e.rule == "lower:scripts"),
    )
    runs: list[tuple[int, int]] = []
    for number in range(skill.body_start_line, len(source) + 1):
        text = source[number - 1].strip()
        if not text or text in present:
            continue
        if runs and all(not source[n - 1].strip() for n in range(runs[-1][1] + 1, number)):
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    entries = []
    for start, end in runs:
        gap = max(
            (g for g in gaps if g.lines and g.lines[0] <= end and g.lines[1] >= start),
            key=lambda g: (g.severity, g.primitive_id),
            default=None,
        )
        entries.append(
            SourceMapEntry(
                variantLines=pointer.variant_lines,
                sourceLines=(start, end),
                primitiveId=gap.primitive_id if gap else None,
                gap=gap.label if gap else None,
                rule="move:reference",
                **{"pass": "lower"},
            )
        )
    return entries


def _items(paragraph: list[str]) -> list[list[str]]:
    """A paragraph's list items with their continuation lines; prose is one item."""
    items: list[list[str]] = []
    for line in paragraph:
        if not items or re.match(r"\s*(?:[-*+]|\d+[.)])\s", line):
            items.append([line])
        else:
            items[-1].append(line)
    return items


def _paragraphs(source: list[str], start: int, end: int) -> list[list[str]]:
    """Lines start..end (1-based) split at blank lines; a list or a heading stays whole."""
    paragraphs: list[list[str]] = [[]]
    for number in range(start, end + 1):
        line = source[number - 1]
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _overview(skill: Skill) -> tuple[int | None, list[int]]:
    """The title line and the overview prose (no code blocks, no sentence that only
    introduces a dropped block) before the first level-2 section."""
    source = skill.source.splitlines()
    sections = sorted(skill.ir.sections, key=lambda s: s.span.start)
    title = next((s.span.start for s in sections if s.level == 1), None)
    start = (title or skill.body_start_line - 1) + 1
    end = next((s.span.start - 1 for s in sections if s.level >= 2), len(source))
    in_code = _code_lines(skill)
    kept = []
    for number in range(start, end + 1):
        text = source[number - 1]
        if number in in_code:
            continue
        following = next((n for n in range(number + 1, end + 1) if source[n - 1].strip()), None)
        if text.rstrip().endswith(":") and following in in_code:
            continue
        if not text.strip() and kept and not source[kept[-1] - 1].strip():
            continue  # one blank line where a dropped block leaves two
        kept.append(number)
    while kept and not source[kept[0] - 1].strip():
        kept.pop(0)
    while kept and not source[kept[-1] - 1].strip():
        kept.pop()
    return title, kept


def _replaced_scripts(skill: Skill, scripts: list[ScriptHelp]) -> list[str]:
    """Scripts the original asks the model to write, now replaced by offered ones."""
    if not scripts:
        return []
    bundled = {f.path for f in skill.files}
    names = set(re.findall(r"`?([\w.-]+\.(?:py|sh))`?", skill.body))
    return sorted(n for n in names if n not in bundled and not any(b.endswith(n) for b in bundled))


def _steps(scripts: list[ScriptHelp], idiom: Idiom, trim: str = "full") -> list[str]:
    steps: list[str] = []
    number = 1
    inspected: set[str] = set()
    for help_ in scripts:
        example = help_.examples[0] if help_.examples else None
        names = value_words(example.args) if example else []
        inspect = trim not in ("no inspection", "no footer")
        if inspect and example and names and example.inputs and example.inputs[0] not in inspected:
            first = example.inputs[0]
            inspected.add(first)
            steps.append(f"{number}. See the names used in the input: `head -3 {first}`")
            number += 1
        if help_.loop and help_.loop.verification.passed:
            loop = help_.loop
            steps.append(
                f"{number}. Run `{help_.script}` on every file in `{loop.folder}/` at once; "
                f"{idiom.run}:"
            )
            steps += ["```bash", *loop.setup, loop.concrete, "```"]
            values = _loop_values(example) if example else []
            if values:
                steps.append(f"   Use the task's values in place of the example's: {values}.")
            outputs = sorted({o.rsplit("/", 1)[0] for o in (example.outputs if example else [])})
            check = f"`ls {outputs[0]}`" if outputs and "/" in (example.outputs[0]) else None
        else:
            forms = filled_forms(help_, example)
            shown = help_.verified_examples()
            choices = {
                a.flag
                for slot in (help_.interface.slots if help_.interface else [])
                if len(slot) > 1
                for a in slot
            }
            if shown and any(_loses_the_example(form, shown, choices) for form in forms):
                # A form from --help that drops what the examples pass (a subcommand's
                # required options) or keeps a placeholder: the verified calls themselves.
                forms = list(dict.fromkeys(e.text for e in shown))
            if len(forms) == 1:
                steps.append(f"{number}. Run `{help_.script}`; {idiom.run}:")
                steps += ["```bash", *forms, "```"]
            else:
                # A list, not one block: a small model runs every line of a block it copies.
                subcommands = {shlex.split(f)[2] for f in forms if len(shlex.split(f)) > 2}
                how = (
                    "with the calls the task needs, in this order"
                    if len(subcommands) > 1 and all(not w.startswith("-") for w in subcommands)
                    else "in the one way that fits the task"
                )
                steps.append(f"{number}. Run `{help_.script}` {how}:")
                steps += [f"   - `{form}`" for form in forms]
            replace = _replace_sentence(help_, example)
            if replace:
                steps.append(f"   {replace}")
            out = example.outputs[0] if example and example.outputs else None
            check = f"`cat {out}`" if out else None
        meanings = [
            f"   - `{a.flag or a.placeholder}`: {a.help}" for a in _explained(help_, trim) if a.help
        ]
        steps += meanings
        number += 1
        if check:
            steps.append(f"{number}. Check the result: {check}. {idiom.finish}")
            number += 1
    if not any("Check the result" in s for s in steps):
        steps.append(f"{number}. Check the files you wrote. {idiom.finish}")
    return steps


def _loses_the_example(form: str, examples: list[CommandLine], choices: set[str]) -> bool:
    """The form drops an option the examples pass (alternatives of a choice aside) or
    keeps a placeholder where the examples have a value."""
    words = shlex.split(form) if form.count("'") % 2 == 0 else form.split()
    placeholder = any(re.fullmatch(r"[A-Z][A-Z0-9_]{2,}", w) for w in words[2:])
    matching = [e for e in examples if e.args[:1] == words[2:3]] or examples
    flags = {w for e in matching for w in e.args if w.startswith("--")} - choices
    return placeholder or not flags <= set(words)


def _explained(help_: ScriptHelp, trim: str) -> list[Argument]:
    """Arguments whose meaning the steps spell out: all, or only those the model must
    choose between (a choice slot), or none."""
    if help_.interface is None or trim in ("no meanings", "no inspection", "no footer"):
        return []
    if trim == "full":
        return help_.interface.all_arguments()
    return [a for slot in help_.interface.slots if len(slot) > 1 for a in slot]


def _loop_values(example: CommandLine) -> str:
    values = [
        f"`{v}` ({flag})"
        for flag, v in example.option_values().items()
        if v not in example.inputs and v not in example.outputs
    ]
    return ", ".join(values)


def filled_forms(help_: ScriptHelp, example: CommandLine | None) -> list[str]:
    """Every call shape, filled with the example's values where it has them."""
    if help_.interface is None or not help_.interface.forms():
        return [example.text] if example else [f"{help_.runner} {help_.script}"]
    values = example.option_values() if example else {}
    positionals = _positionals(example) if example else []
    slot_values = {}
    for slot in help_.interface.slots:
        shared = next((values[a.flag] for a in slot if a.flag in values), None)
        for argument in slot:
            if shared is not None and argument.metavar:
                slot_values[argument.flag] = values.get(argument.flag, shared)
    # Optional arguments the example sets are part of every form (with its values).
    set_flags = example_switches(example)
    used = [a for a in help_.interface.optional if a.flag in set_flags]
    lines = []
    for form in [f + used for f in help_.interface.forms()]:
        words = [help_.runner, help_.script]
        position = 0
        for argument in form:
            words.append(_filled(argument, values, slot_values, positionals, position))
            position += argument.flag is None
        if example and example.stdout_to:
            words.append(f"> {example.stdout_to}")
        lines.append(" ".join(words))
    return list(dict.fromkeys(lines))


def example_switches(example: CommandLine | None) -> set[str]:
    return {w for w in (example.args if example else []) if w.startswith("-")}


def _filled(
    argument: Argument,
    values: dict[str, str],
    slot_values: dict[str, str],
    positionals: list[str],
    position: int,
) -> str:
    if argument.flag is None:
        return (
            shlex.quote(positionals[position])
            if position < len(positionals)
            else argument.placeholder
        )
    if argument.metavar is None:
        return argument.flag
    value = values.get(argument.flag) or slot_values.get(argument.flag)
    return f"{argument.flag} {shlex.quote(value) if value else argument.placeholder}"


def _positionals(example: CommandLine) -> list[str]:
    words, skip = [], False
    for index, word in enumerate(example.args):
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            following = example.args[index + 1] if index + 1 < len(example.args) else ""
            skip = bool(following) and not following.startswith("-")
            continue
        words.append(word)
    return words


def _clause(help_text: str, limit: int = 120) -> str:
    """A help text's first clause, short enough to sit in a sentence."""
    text = " ".join(help_text.split()).rstrip(".")
    text = re.split(r"(?<=[a-z)])[.;]\s", text)[0]
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _replace_sentence(help_: ScriptHelp, example: CommandLine | None) -> str:
    if example is None:
        return "Replace the CAPITALS with the task's values."
    parts = []
    if example.inputs:
        parts.append(", ".join(f"`{p}`" for p in example.inputs) + " (the input)")
    names = value_words(example.args)
    if names:
        parts.append(", ".join(f"`{n}`" for n in dict.fromkeys(names)) + " (names in the input)")
    said = {
        a.flag: a.help
        for a in (help_.interface.all_arguments() if help_.interface else [])
        if a.flag
    }
    # What in the task fills a value, in the script's own help words where it has them:
    # a weak model otherwise keeps the example's value.
    numbers = [
        f"`{v}` ({flag}: {_clause(said[flag])})" if said.get(flag) else f"`{v}` ({flag})"
        for flag, v in example.option_values().items()
        if re.fullmatch(r"[\d.]+", v)
    ]
    if numbers:
        parts.append(", ".join(numbers))
    if example.outputs:
        parts.append(", ".join(f"`{p}`" for p in example.outputs) + " (the file to write)")
    if not parts:
        return ""
    return "These are the example's names: use the task's instead of " + "; ".join(parts) + "."
