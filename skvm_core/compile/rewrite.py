"""Compensating rewrite: notes placed at the lines that carry each gap, and the guard.

The deterministic rewrite only inserts text, so everything the author wrote stays. Each
inserted block is a blockquote right after the evidence lines, built from the catalog's
degradation guidance and a per-primitive template; a missing primitive with an alternative
path gets a substitution note instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from skvm_core.catalog import LEVELS, load_catalog
from skvm_core.compile.model import SCR, Gap, SourceMapEntry
from skvm_core.skill import Skill

# Concrete help per primitive, added to the catalog's general guidance.
TEMPLATES: dict[str, str] = {
    "reason.arithmetic": 'Do not compute in your head: put the numbers in a script and run it, e.g. `python3 -c "print(round(12.5 * 3 * 1.2, 2))"`.',
    "gen.code.shell": "Write one command per step and save each intermediate result to a file (`step1.txt`, `step2.txt`) before the next step.",
    "gen.code.python": 'Start the script from this skeleton and fill in the marked part:\n```python\nimport csv, json\n\nwith open("INPUT") as handle:\n    rows = list(csv.DictReader(handle))\n# compute here\nwith open("OUTPUT", "w") as handle:\n    json.dump(result, handle, indent=2, sort_keys=True)\n```',
    "gen.code.sql": "Build the query in small steps: run each part on its own with `sqlite3` and check its rows before combining them.",
    "gen.regex": 'Test the pattern on two matching and two non-matching examples with `python3 -c "import re; print(re.search(PATTERN, TEXT))"` before using it.',
    "tool.call.format": 'Tool arguments are a JSON object, for example `{"path": "report.json", "content": "{\\"a\\": 1}"}`; escape quotes inside strings.',
    "tool.call.batch": "Read one file at a time and note its result before reading the next; combine the notes at the end.",
    "tool.exec": "Run exactly one command per tool call, then read its output before deciding the next command.",
    "tool.file.write": "Write each file in one write_file call, then read it back to confirm its content.",
    "tool.file.read": "Read each file by its exact path with read_file, one file per call.",
    "follow.procedure": "Work through the steps as a checklist: after finishing a step, say which step is done before starting the next.",
    "follow.format": "Before finishing, compare your output with the required format line by line and fix any difference.",
    "follow.constraint": "Before finishing, re-read each rule above and check your result against it.",
    "follow.delegation": "Use code for every count, sum and average; never type a computed number yourself.",
    "gen.text.structured": "Produce the JSON with a script (`json.dump`) instead of typing it by hand.",
    "gen.text.long": "Write long output to the file in several parts (append), each under 1 KB.",
    "reason.planning": "List the steps with their inputs and outputs before you start, and do them in that order.",
    "tool.web": "Fetch the exact URL given, one request at a time, and extract only the field you need.",
}
MARKER = "> **Compiled note"
BUDGET_RATIO = 1.8
BUDGET_EXTRA_CHARS = 2_000


@dataclass
class Insertion:
    after_line: int  # insert after this SKILL.md line (1-based)
    lines: list[str]
    gap: Gap
    rule: str


@dataclass
class RewriteResult:
    text: str
    source_map: list[SourceMapEntry] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)  # gap labels compensated


def guidance_for(gap: Gap) -> tuple[str, str]:
    """(text, rule id) for a gap: the degradation steps from required down to model level."""
    primitive = load_catalog().get(gap.primitive_id)
    have = gap.model_level or "L0"
    steps = []
    level = gap.required_level
    while LEVELS.index(level) > max(LEVELS.index(have), 1):
        text = primitive.degradation(level)
        if text:
            steps.append(text)
        level = LEVELS[LEVELS.index(level) - 1]
    rule = f"degrade:{gap.required_level}->{have if have != 'L0' else 'L1'}"
    template = TEMPLATES.get(gap.primitive_id)
    if template:
        steps.append(template)
        rule += "+template"
    return " ".join(s for s in steps if "\n" not in s) + "".join(
        f"\n{s}" for s in steps if "\n" in s
    ), rule


def model_note_for(gap: Gap) -> tuple[str, str]:
    """(text, rule id) of the note the model reads for a gap: only help written for the
    model itself. The catalog's degradation guidance is advice to the skill's author (or to
    a compiler model) and stays in the gap listing, never in the variant."""
    template = TEMPLATES.get(gap.primitive_id)
    if template is None:
        return "", "none"
    return template, f"template:{gap.primitive_id}"


def substitution_for(gap: Gap, scr: SCR) -> str | None:
    purpose = next((p for p in scr.purposes if p.id == gap.purpose_id), None)
    if purpose is None:
        return None
    for path in purpose.alternative_paths:
        if path.replaces == gap.primitive_id:
            return (
                f"If this does not work, {path.note}: "
                + "; ".join(f"{r.evidence}" for r in path.primitives)
                + "."
            )
    return None


def plan_insertions(skill: Skill, scr: SCR, gaps: list[Gap]) -> list[Insertion]:
    lines = skill.source.splitlines()
    code_spans = [(b.span.start, b.span.end) for b in skill.ir.code_blocks]
    list_spans = [(lst.span.start, lst.span.end) for lst in skill.ir.lists]
    insertions: dict[int, list[Insertion]] = {}
    seen: set[str] = set()
    for gap in sorted(gaps, key=lambda g: (-(g.severity), g.primitive_id)):
        if gap.gap_type == "unknown" or gap.primitive_id in seen:
            continue
        # One note per primitive, at its most severe gap: a weak model reads the same advice
        # twice as noise. The reference drops single-level weak gaps; weak targets need help
        # there too, so we keep them.
        seen.add(gap.primitive_id)
        anchor = gap.lines[1] if gap.lines else len(lines)
        anchor = _end_of_paragraph(lines, _after_block(anchor, code_spans + list_spans))
        text, rule = model_note_for(gap)
        if gap.gap_type == "missing":
            substitute = substitution_for(gap, scr)
            if substitute:
                text = f"{text} {substitute}".strip()
                rule += "+substitute"
        if not text.strip():
            # Nothing written for the model covers this primitive: the gap stays listed,
            # with the catalog's advice, for the author.
            continue
        body = [
            f"{MARKER} ({gap.primitive_id}: needs {gap.required_level}, target has {gap.model_level}):** {text.splitlines()[0]}"
        ]
        body += [f"> {line}" if line else ">" for line in text.splitlines()[1:]]
        insertions.setdefault(anchor, []).append(
            Insertion(after_line=anchor, lines=body, gap=gap, rule=rule)
        )
    return [i for anchor in sorted(insertions) for i in insertions[anchor]]


def _end_of_paragraph(lines: list[str], line: int) -> int:
    """Move the anchor to the last line of its paragraph, so no sentence is split."""
    while (
        line < len(lines)
        and lines[line].strip()
        and not lines[line].lstrip().startswith(("#", "```", ">"))
        and not re.match(r"\s*([-*]|\d+[.)])\s", lines[line])
    ):
        line += 1
    return line


def _after_block(line: int, spans: list[tuple[int, int]]) -> int:
    """Never split a code block or a list: move the anchor to the end of the enclosing one."""
    moved = True
    while moved:
        moved = False
        for start, end in spans:
            if start <= line < end:
                line, moved = end, True
    return line


def apply_insertions(
    skill: Skill, insertions: list[Insertion], pass_id: str = "rewrite"
) -> RewriteResult:
    """Insert the notes; every added line, blank separators included, is in the source map."""
    source = skill.source.splitlines()
    by_anchor: dict[int, list[Insertion]] = {}
    for insertion in insertions:
        by_anchor.setdefault(min(insertion.after_line, len(source)), []).append(insertion)
    out: list[str] = []
    source_map: list[SourceMapEntry] = []
    for number, line in enumerate(source, start=1):
        out.append(line)
        for insertion in by_anchor.get(number, []):
            first = len(out) + 1
            if out and out[-1].strip():
                out.append("")
            out.extend(insertion.lines)
            if number < len(source) and source[number].strip():
                out.append("")
            source_map.append(
                SourceMapEntry(
                    variantLines=(first, len(out)),
                    sourceLines=insertion.gap.lines,
                    primitiveId=insertion.gap.primitive_id,
                    gap=insertion.gap.label,
                    rule=insertion.rule,
                    **{"pass": pass_id},
                )
            )
    text = "\n".join(out) + ("\n" if skill.source.endswith("\n") else "")
    return RewriteResult(
        text=text, source_map=source_map, applied=[i.gap.label for i in insertions]
    )


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def guard(original: Skill, text: str) -> list[str]:
    """What a rewrite must never do; an empty list means the rewrite is acceptable."""
    violations = []
    if not text.startswith("---"):
        violations.append("the front matter was removed")
    else:
        closing = text.find("\n---", 3)
        front = text[4 : closing + 1] if closing > 0 else ""
        if front.strip() != original.raw_front_matter.strip():
            violations.append("the front matter changed")
    for block in original.ir.code_blocks:
        if block.code.strip() and block.code.strip() not in text:
            violations.append(f"code block at {block.span} was changed or removed")
    variant_headings = {
        m.group(1).strip() for line in text.splitlines() if (m := _HEADING.match(line))
    }
    for section in original.ir.sections:
        if section.title not in variant_headings:
            violations.append(f"heading {section.title!r} was removed")
    for procedure in original.ir.procedures:
        for item in procedure.items:
            words = [w for w in re.findall(r"[A-Za-z]{4,}", item.text)[:4]]
            if words and not all(w in text for w in words):
                violations.append(f"step {item.span} ({item.text[:40]!r}) lost its content")
    budget = len(original.source) * BUDGET_RATIO + BUDGET_EXTRA_CHARS
    if len(text) > budget:
        violations.append(
            f"the variant is {len(text)} characters, over the budget of {int(budget)}"
        )
    return violations
