"""Static skill analysis → SCR. Deterministic: the same skill gives the same SCR.

Reads the markdown IR (sections, code blocks, numbered procedures) and the bundled
scripts, and turns what the skill demands into primitive requirements, each with the
lines that show it. Purposes are the skill's top-level sections.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable

from skvm_core.compile.model import SCR, CapabilityPath, Purpose, Requirement
from skvm_core.skill import Skill
from skvm_core.skill.workflow import PARALLEL_WORDS

PY_STDLIB_L2 = {
    "csv",
    "json",
    "re",
    "os",
    "pathlib",
    "collections",
    "itertools",
    "datetime",
    "decimal",
    "fractions",
    "statistics",
    "sqlite3",
    "subprocess",
    "argparse",
    "math",
}
SHELL_ADVANCED = re.compile(r"\b(awk|sed|xargs|find\s.*-exec|cut|tr|uniq|sort\s+-k)\b")
SHELL_PIPES = re.compile(r"[|<>]|\bfor\b|\bwhile\b|\$\(")
SQL_L2 = re.compile(
    r"\b(join|group\s+by|having|over\s*\(|union|exists|in\s*\(\s*select)\b", re.IGNORECASE
)
SQL_L3 = re.compile(
    r"\bwith\s+\w+\s+as\s*\(|\bover\s*\(\s*partition\b|\brow_number\b|\brank\s*\(", re.IGNORECASE
)
REGEX_CALL = re.compile(
    r"""(?:re\.\w+\(\s*r?["']([^"']+)["']|grep\s+-[a-zA-Z]*[EoP][a-zA-Z]*\s+'([^']+)')"""
)
ARITH_L3 = re.compile(r"\b(percent(age)?|interest|compound|tax|discount|rate)\b", re.IGNORECASE)
ARITH_L2 = re.compile(r"\b(average|mean|sum|total|weighted|round(ed|ing)?|median)\b", re.IGNORECASE)
FORMAT_WORDS = re.compile(
    r"\b(json|yaml|csv|schema|format|template|keys sorted|one per line)\b", re.IGNORECASE
)
CONSTRAINT_WORDS = re.compile(
    r"\b(must(?:\s+not)?|never|always|do not|don't|only)\b", re.IGNORECASE
)
DELEGATION_WORDS = re.compile(
    r"\b(computed by code|by code|with a script|never estimate|not by reading|let the tools|run the (?:bundled )?script)\b",
    re.IGNORECASE,
)
LOOP_WORDS = re.compile(
    r"\b(repeat|for each|for every|until|each (?:file|row|item|record|document|entry))\b",
    re.IGNORECASE,
)
BRANCH_WORDS = re.compile(r"\b(if|otherwise|unless|else|when)\b", re.IGNORECASE)
URL = re.compile(r"https?://\S+")
BROWSER_WORDS = re.compile(r"\b(browser|click|navigate|web page|form)\b", re.IGNORECASE)
FILE_READ = re.compile(
    r"\b(read|look at|inspect|open)\b[^.\n]{0,60}\b(file|\w+\.(?:csv|json|txt|log|sql|md|db))\b",
    re.IGNORECASE,
)
FILE_WRITE = re.compile(
    r"\b(write|save|create)\b[^.\n]{0,60}\b(file|\w+\.(?:csv|json|txt|md|html|py|sh))\b",
    re.IGNORECASE,
)
EXEC_WORDS = re.compile(
    r"\b(run|execute)\b[^.\n]{0,40}\b(script|command|it|python3|bash|sqlite3|the)\b", re.IGNORECASE
)
LONG_OUTPUT = re.compile(
    r"\b(\d{1,3},?\d{3}|long|complete|full)\s+(characters|words|report|document|output)\b",
    re.IGNORECASE,
)
LEVEL_ORDER = {"L1": 1, "L2": 2, "L3": 3}


def kebab(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48] or "skill"


class _Collector:
    """Requirements found so far, keeping the highest level per (purpose, primitive)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], Requirement] = {}

    def add(
        self,
        purpose: str,
        primitive: str,
        level: str,
        evidence: str,
        lines: tuple[int, int] | None,
        file: str = "SKILL.md",
    ) -> None:
        key = (purpose, primitive)
        current = self.found.get(key)
        if current is None or LEVEL_ORDER[level] > LEVEL_ORDER[current.min_level]:
            self.found[key] = Requirement(
                id=primitive, minLevel=level, evidence=evidence[:160], lines=lines, file=file
            )

    def for_purpose(self, purpose: str) -> list[Requirement]:
        return [r for (p, _), r in self.found.items() if p == purpose]


def python_imports(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return {m for m in re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", code, re.MULTILINE)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_level(code: str) -> tuple[str, str]:
    imports = python_imports(code)
    third_party = sorted(i for i in imports if i not in sys.stdlib_module_names)
    if third_party:
        return "L3", f"third-party imports: {', '.join(third_party)}"
    if imports & PY_STDLIB_L2 or imports:
        return "L2", f"standard library: {', '.join(sorted(imports))}"
    return "L1", "plain Python"


def shell_level(code: str) -> tuple[str, str]:
    advanced = sorted(set(SHELL_ADVANCED.findall(code)))
    if advanced:
        return "L3", f"uses {', '.join(advanced)}"
    if SHELL_PIPES.search(code):
        return "L2", "pipes, redirection or loops"
    return "L1", "single commands"


def regex_level(pattern: str) -> str:
    if re.search(r"\(\?[=!<P]", pattern):
        return "L3"
    if re.search(r"[()|^$]|\\b", pattern):
        return "L2"
    return "L1"


def _lines_matching(
    skill: Skill, pattern: re.Pattern[str], start: int, end: int
) -> Iterable[tuple[int, str]]:
    lines = skill.source.splitlines()
    for number in range(start, min(end, len(lines)) + 1):
        text = lines[number - 1]
        if pattern.search(text):
            yield number, text.strip()


Span = tuple[str, str, tuple[int, int]]  # purpose id, title, (first line, last line)


def analyze(skill: Skill) -> SCR:
    """The skill's capability requirements, per purpose, from its code blocks, numbered
    procedures, wording and bundled scripts (static analysis, no model)."""
    collector = _Collector()
    spans = _purpose_spans(skill)

    def purpose_at(line: int) -> str:
        for pid, _title, (start, end) in spans:
            if start <= line <= end:
                return pid
        return spans[0][0]

    for block in skill.ir.code_blocks:
        pid, where = purpose_at(block.span.start), (block.span.start, block.span.end)
        for primitive, level, why in _code_block_needs(block.language, block.code):
            collector.add(pid, primitive, level, why, where)
    _procedure_needs(skill, collector, purpose_at)
    for pid, _title, (start, end) in spans:
        _wording_needs(skill, collector, pid, max(start, skill.body_start_line), end)
    _bundle_needs(skill, collector, purpose_at, spans[0][0])
    return SCR(skillName=skill.name, purposes=_purposes(skill, spans, collector))


def _purpose_spans(skill: Skill) -> list[Span]:
    """Level-2 sections (or level-1 when there are none), else the whole body; text before
    the first one is the overview."""
    top_sections = [s for s in skill.ir.sections if s.level <= 2] or []
    level2 = [s for s in skill.ir.sections if s.level == 2]
    purposes_src = level2 or [s for s in top_sections if s.level == 1]
    total_lines = len(skill.source.splitlines())
    if not purposes_src:
        return [("skill", skill.description or skill.name, (skill.body_start_line, total_lines))]
    spans: list[Span] = [
        (kebab(s.title), s.title, (s.span.start, s.span.end)) for s in purposes_src
    ]
    first = purposes_src[0].span.start
    if first > skill.body_start_line:
        spans.insert(0, ("overview", "Overview", (skill.body_start_line, first - 1)))
    return spans


def _code_block_needs(language: str, code: str) -> list[tuple[str, str, str]]:
    """(primitive, level, evidence) for one fenced block, by its language and content."""
    needs: list[tuple[str, str, str]] = []
    if language in ("python", "py", "python3"):
        level, why = python_level(code)
        needs.append(("gen.code.python", level, f"python block: {why}"))
    elif language in ("bash", "sh", "shell", "console", "zsh"):
        level, why = shell_level(code)
        needs.append(("gen.code.shell", level, f"shell block: {why}"))
        needs.append(("tool.exec", "L2" if code.count("\n") > 1 else "L1", "commands to run"))
    elif language == "sql":
        level = "L3" if SQL_L3.search(code) else ("L2" if SQL_L2.search(code) else "L1")
        needs.append(("gen.code.sql", level, "SQL block"))
    elif language in ("javascript", "js", "node", "typescript", "ts"):
        level = (
            "L3"
            if re.search(r"\basync\b|\bawait\b|Promise", code)
            else ("L2" if "require(" in code or "import " in code else "L1")
        )
        needs.append(("gen.code.javascript", level, "JavaScript block"))
    elif language in ("html", "svg", "xml"):
        level = (
            "L3"
            if "<svg" in code or "aria-" in code
            else ("L2" if re.search(r"<(table|form|header|main)", code) else "L1")
        )
        needs.append(("gen.code.html", level, f"{language} block"))
    elif language in ("json", "yaml", "yml"):
        depth = max((len(line) - len(line.lstrip())) // 2 for line in code.splitlines() or [""])
        level = "L3" if len(code) > 5000 else ("L2" if depth >= 2 or len(code) > 500 else "L1")
        needs.append(("gen.text.structured", level, f"{language} output example"))
        needs.append(
            ("follow.format", "L2" if level != "L1" else "L1", f"{language} shape to follow")
        )
    elif language in ("markdown", "md", "text", "") and code.count("\n") >= 8:
        needs.append(("follow.format", "L2", "a template to reproduce"))
    for match in REGEX_CALL.finditer(code):
        pattern = match.group(1) or match.group(2)
        needs.append(("gen.regex", regex_level(pattern), f"regular expression {pattern[:40]!r}"))
    return needs


def _procedure_needs(skill: Skill, collector: _Collector, purpose_at) -> None:
    for procedure in skill.ir.procedures:
        pid = purpose_at(procedure.span.start)
        where = (procedure.span.start, procedure.span.end)
        text = " ".join(item.text for item in procedure.items)
        steps = len(procedure.items)
        if LOOP_WORDS.search(text):
            level, why = "L3", "loops over items"
        elif steps >= 5 or BRANCH_WORDS.search(text):
            level, why = (
                "L2",
                f"{steps} steps" + (" with branches" if BRANCH_WORDS.search(text) else ""),
            )
        else:
            level, why = "L1", f"{steps} steps"
        collector.add(pid, "follow.procedure", level, f"numbered procedure: {why}", where)
        if steps >= 3:
            planning = "L2" if PARALLEL_WORDS.search(skill.source) else "L1"
            collector.add(pid, "reason.planning", planning, f"{steps}-step plan", where)


# Wording cues, one requirement per matching line: (pattern, primitive, level).
_LINE_CUES = (
    (ARITH_L3, "reason.arithmetic", "L3"),
    (ARITH_L2, "reason.arithmetic", "L2"),
)
_LATER_LINE_CUES = (
    (FORMAT_WORDS, "follow.format", "L1"),
    (DELEGATION_WORDS, "follow.delegation", "L2"),
    (PARALLEL_WORDS, "tool.call.batch", "L2"),
    (URL, "tool.web", "L1"),
    (BROWSER_WORDS, "tool.browser", "L1"),
)


def _wording_needs(skill: Skill, collector: _Collector, pid: str, start: int, end: int) -> None:
    def each(pattern, primitive: str, level: str) -> None:
        for number, text in _lines_matching(skill, pattern, start, end):
            collector.add(pid, primitive, level, text, (number, number))

    for cue in _LINE_CUES:
        each(*cue)
    constraints = list(_lines_matching(skill, CONSTRAINT_WORDS, start, end))
    if constraints:
        level = "L3" if len(constraints) >= 6 else ("L2" if len(constraints) >= 3 else "L1")
        collector.add(
            pid,
            "follow.constraint",
            level,
            f"{len(constraints)} hard rules, e.g. {constraints[0][1]}",
            (constraints[0][0], constraints[-1][0]),
        )
    for cue in _LATER_LINE_CUES:
        each(*cue)
    reads = list(_lines_matching(skill, FILE_READ, start, end))
    if reads:
        level = "L2" if len(reads) > 1 else "L1"
        collector.add(pid, "tool.file.read", level, reads[0][1], (reads[0][0], reads[-1][0]))
    writes = list(_lines_matching(skill, FILE_WRITE, start, end))
    if writes:
        level = "L3" if len(writes) > 2 else "L1"
        collector.add(pid, "tool.file.write", level, writes[0][1], (writes[0][0], writes[-1][0]))
    each(EXEC_WORDS, "tool.exec", "L1")
    each(LONG_OUTPUT, "gen.text.long", "L2")


def _bundle_needs(skill: Skill, collector: _Collector, purpose_at, first_pid: str) -> None:
    lines = skill.source.splitlines()
    for bundle_file in skill.files:
        if not (bundle_file.path.endswith(".py") and bundle_file.is_text):
            continue
        code = (skill.root / bundle_file.path).read_text("utf-8", errors="replace")
        _level, why = python_level(code)
        mentioned = next((n for n, line in enumerate(lines, 1) if bundle_file.path in line), None)
        pid = purpose_at(mentioned) if mentioned else first_pid
        where = (mentioned, mentioned) if mentioned else None
        # A bundled script the skill tells the agent to run needs execution, not writing.
        collector.add(
            pid,
            "tool.exec",
            "L1",
            f"run bundled {bundle_file.path} ({why})",
            where,
            file=bundle_file.path,
        )


def _purposes(skill: Skill, spans: list[Span], collector: _Collector) -> list[Purpose]:
    purposes = []
    for pid, title, (start, end) in spans:
        requirements = sorted(collector.for_purpose(pid), key=lambda r: (r.lines or (0, 0), r.id))
        if not requirements:
            continue
        purposes.append(
            Purpose(
                id=pid,
                description=title,
                currentPath=CapabilityPath(primitives=requirements),
                alternativePaths=_alternatives(requirements),
                lines=(start, end),
            )
        )
    if not purposes:
        whole = (skill.body_start_line, len(skill.source.splitlines()))
        purposes.append(
            Purpose(
                id="skill",
                description=skill.description or skill.name,
                currentPath=CapabilityPath(
                    primitives=[
                        Requirement(
                            id="follow.procedure",
                            minLevel="L1",
                            evidence="follow the skill's instructions",
                            lines=whole,
                        )
                    ]
                ),
                lines=whole,
            )
        )
    return purposes


def _alternatives(requirements: list[Requirement]) -> list[CapabilityPath]:
    """Other ways to reach the same purpose, used when a primitive is missing."""
    ids = {r.id for r in requirements}
    paths = []
    if "reason.arithmetic" in ids:
        paths.append(
            CapabilityPath(
                primitives=[
                    Requirement(
                        id="gen.code.python", minLevel="L1", evidence="compute in a script"
                    ),
                    Requirement(id="tool.exec", minLevel="L1", evidence="run it"),
                ],
                note="delegate the arithmetic to code",
                replaces="reason.arithmetic",
            )
        )
    if "tool.browser" in ids:
        paths.append(
            CapabilityPath(
                primitives=[
                    Requirement(id="tool.web", minLevel="L1", evidence="fetch the page"),
                    Requirement(id="gen.code.python", minLevel="L2", evidence="parse the HTML"),
                ],
                note="fetch the HTML and parse it instead of browsing",
                replaces="tool.browser",
            )
        )
    if "gen.code.sql" in ids:
        paths.append(
            CapabilityPath(
                primitives=[
                    Requirement(
                        id="gen.code.python",
                        minLevel="L2",
                        evidence="query with the sqlite3 module",
                    )
                ],
                note="query step by step from Python",
                replaces="gen.code.sql",
            )
        )
    if "gen.regex" in ids:
        paths.append(
            CapabilityPath(
                primitives=[
                    Requirement(
                        id="gen.code.python",
                        minLevel="L1",
                        evidence="string methods instead of a pattern",
                    )
                ],
                note="match with string operations",
                replaces="gen.regex",
            )
        )
    return paths
