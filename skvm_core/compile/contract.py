"""The skill's contract: what it reads, what it must write and the rules it states, each item
citing the lines it comes from, and a check of a run's outputs against it.

Extraction is deterministic and reads only the skill's own words: file names in the text,
the shapes shown beside them (a CSV header, a JSON example, example lines), and the
sentences that state rules. The check is what a synthesised script must pass besides
exiting 0: every output exists, and has the stated header, JSON shape, line shape and
rounding. It does not know the right answer; it knows what the skill said an answer
looks like.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from skvm_core.compile.task_values import task_values
from skvm_core.skill import Skill

DATA_SUFFIXES = (
    "csv", "tsv", "json", "jsonl", "txt", "log", "md", "xml", "yaml", "yml", "ini", "cfg",
    "conf", "sql", "db", "html", "tex",
)  # fmt: skip
_FILE = re.compile(
    r"(?<![\w/.$-])((?:[\w-]+/)*[\w][\w.-]*\.(?:" + "|".join(DATA_SUFFIXES) + r"))(?![\w/-])"
)
_WRITE = re.compile(
    r"\b(write|writes|writing|save|saves|store|produce|produces|create|creates|output|emit|"
    r"generate|generates|report (?:it )?(?:to|in)|into|put (?:it |them )?in)\b",
    re.IGNORECASE,
)
_READ = re.compile(
    r"\b(read|reads|reading|given|input|parse|parses|load|loads|open|from|contains|"
    r"takes?|inspect|scan|look at)\b",
    re.IGNORECASE,
)
_RULE = re.compile(
    r"\b(must|always|never|exactly|round|rounded|sort|sorted|order|ordered|ignore|skip|"
    r"do not|don't|only|each|every|missing|empty|blank|duplicate|ties?|case|decimal|"
    r"at least|at most|include|exclude|omit|treat|count as|as 0|zero)\b",
    re.IGNORECASE,
)
_RULE_SECTIONS = re.compile(
    r"rule|check|requirement|constraint|edge|note|format|output|caveat|gotcha|important",
    re.IGNORECASE,
)
_DECIMALS = re.compile(r"\b(\d|one|two|three|four)\s+decimal(?:\s+places?|s)?\b", re.IGNORECASE)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4}


class Cited(BaseModel):
    file: str = "SKILL.md"
    lines: tuple[int, int]


class FileShape(BaseModel):
    """One file the skill reads or writes, as the skill names it (the example's name)."""

    path: str | None  # None: the task names the file
    role: Literal["input", "output"]
    described: str = ""  # the skill's own words for it, when it has no fixed name
    format: Literal["csv", "json", "jsonl", "lines", "text"]
    csv_header: list[str] | None = None
    json_example: str | None = None  # the example the skill shows, verbatim
    line_example: list[str] = Field(default_factory=list)  # example lines shown for it
    line_pattern: str | None = None  # regex every non-blank line of the example matches
    cited: list[Cited] = Field(default_factory=list)


class Rule(BaseModel):
    text: str
    cited: Cited


class Parameter(BaseModel):
    """A value the skill says the task gives (a threshold, a rate, a count)."""

    name: str  # the option a script takes it by: "minimum-length"
    text: str  # the sentence that says so
    clause: str = ""  # the part of it naming the value: "the weekly limit the task gives"
    default: str | None = None  # "if it gives none, use 3"
    kind: Literal["number", "text"] = "text"
    whole: bool = False  # an integer (a count)
    cited: Cited


class Contract(BaseModel):
    inputs: list[FileShape] = Field(default_factory=list)
    outputs: list[FileShape] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    parameters: list[Parameter] = Field(default_factory=list)
    decimals: int | None = None  # "round to 2 decimal places": numbers written have at most this

    @property
    def computable(self) -> bool:
        """The job maps named inputs onto named outputs: a script can do it."""
        return bool(self.inputs and self.outputs)

    def summary(self) -> list[str]:
        """The contract as short lines, for prompts, explain and the workbench."""
        lines = []
        for shape in self.inputs + self.outputs:
            detail = shape.format
            if shape.csv_header:
                detail += f" with header {','.join(shape.csv_header)}"
            if shape.json_example:
                detail += f" shaped like {_one_line(shape.json_example)}"
            if shape.csv_header and len(shape.line_example) > 1:
                detail += f" with rows like {shape.line_example[1]!r}"
            elif shape.line_example and not shape.csv_header:
                detail += f" with lines like {shape.line_example[0]!r}"
            name = shape.path or f"(the file the task names: {_one_line(shape.described, 80)})"
            lines.append(f"{shape.role} {name}: {detail}")
        if self.decimals is not None:
            lines.append(f"numbers rounded to {self.decimals} decimal places")
        lines += [
            f"value the task gives (--{p.name}"
            + (f", {p.default} if it gives none" if p.default is not None else "")
            + f"): {_one_line(p.text)}"
            for p in self.parameters
        ]
        lines += [f"rule: {r.text}" for r in self.rules]
        return lines


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _texts(skill: Skill) -> list[tuple[str, list[str], int]]:
    """(file, lines, first line number) of SKILL.md's body and the reference documents."""
    body_start = skill.source.count("\n", 0, skill.source.find(skill.body)) + 1
    texts = [("SKILL.md", skill.body.splitlines(), body_start)]
    for bundle in skill.files:
        if bundle.is_text and bundle.path.endswith(".md") and bundle.size < 64_000:
            path = skill.root / bundle.path
            texts.append((bundle.path, path.read_text("utf-8", errors="replace").splitlines(), 1))
    return texts


def _blocks(lines: list[str]) -> list[tuple[int, int, str, list[str]]]:
    """Fenced blocks of a markdown text: (open index, close index, language, lines)."""
    found, start, language = [], None, ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            if start is None:
                start, language = index, stripped.strip("`~").strip().lower()
            else:
                found.append((start, index, language, lines[start + 1 : index]))
                start = None
    return found


def _role(sentence: str, name: str) -> Literal["input", "output"] | None:
    """The nearest reading or writing verb before the name (else after it) decides."""
    before = sentence[: sentence.find(name)]
    writes = [m.end() for m in _WRITE.finditer(before)]
    reads = [m.end() for m in _READ.finditer(before)]
    if writes or reads:
        return "output" if max(writes, default=-1) > max(reads, default=-1) else "input"
    after = sentence[sentence.find(name) :]
    if _WRITE.search(after[:60]):
        return "input"  # "data.csv … is written up as" — the name is what the job starts from
    return None


def _format(path: str) -> Literal["csv", "json", "jsonl", "lines", "text"]:
    suffix = PurePosixPath(path).suffix.lower().lstrip(".")
    if suffix in ("csv", "tsv"):
        return "csv"
    if suffix in ("json", "jsonl"):
        return suffix  # type: ignore[return-value]
    if suffix in ("txt", "log"):
        return "lines"
    return "text"


def line_pattern(lines: list[str]) -> str | None:
    """A regex every example line matches: digits as numbers, words as words, the
    punctuation between them literal. None when the lines have no common shape."""
    shapes = {_shape(line) for line in lines if line.strip()}
    if len(shapes) != 1:
        return None
    return shapes.pop()


def _shape(line: str) -> str:
    parts = []
    for token in re.finditer(r"\d+(?:\.\d+)?|[A-Za-z_][\w-]*|\s+|.", line.strip()):
        text = token.group()
        if text[0].isdigit():
            parts.append(r"\d+(?:\.\d+)?")
        elif text[0].isalpha() or text[0] == "_":
            parts.append(r"\S+")
        elif text.isspace():
            parts.append(r"\s+")
        else:
            parts.append(re.escape(text))
    # Runs of words may be free text of any length: collapse word/space runs.
    pattern = "".join(parts)
    pattern = re.sub(r"\\S\+(?:\\s\+\\S\+)*", ".+", pattern)
    return "^" + pattern + "$"


def _attach_block(shape: FileShape, block: list[str], language: str) -> None:
    text = "\n".join(block).strip()
    if not text:
        return
    if shape.format == "csv" and "," in block[0] and not block[0].lstrip().startswith("{"):
        header = next(csv.reader([block[0]]))
        if all(re.fullmatch(r"[A-Za-z_][\w .-]*", h.strip()) for h in header):
            shape.csv_header = [h.strip() for h in header]
            rows = [line.strip() for line in block if line.strip()]
            if shape.role == "input" and len(rows) > 1:
                shape.line_example = rows[:8]  # the header and the rows the skill shows
    elif shape.format in ("json", "jsonl") or language == "json":
        try:
            json.loads(text if shape.format != "jsonl" else block[0])
        except ValueError:
            return
        shape.json_example = text
    elif shape.format == "lines":
        shown = [line for line in block if line.strip()][:8]
        shape.line_example = shown
        shape.line_pattern = line_pattern(shown)


# Section titles, after any numbering ("2. Read the requirements file"): a section about
# reading a file describes an input; one about writing one, an output.
_INPUT_SECTION = re.compile(
    r"^(?:\d+[.)]\s*)?(inputs?|data|the data|source|reading|the (?:input|log|file)s?|"
    r"(?:read|parse|load) the\b(?!.*\b(?:output|result|report)\b))\b",
    re.I,
)
_OUTPUT_SECTION = re.compile(
    r"^(?:\d+[.)]\s*)?(outputs?|results?|the report|report|what to write|writing|"
    r"(?:write|save|produce) the (?:report|output|result|file|csv|json)s?)\b",
    re.I,
)
_FILE_BULLET = re.compile(
    r"^\s*(?:[-*]|\d+[.)])\s+(?:an?|the|one)\s+[^.]*?\b(?:file|csv|json|list|log)\b", re.I
)
_SENTENCE_INPUT = re.compile(
    r"\bthe (?:given |input |source )?(?:[a-z]+ ){0,2}(?:file|csv|json|log)\b(?: (?:the task|you are) (?:names|given))?",
    re.I,
)
_FORMAT_WORDS = (("csv", re.compile(r"\bcsv\b", re.I)), ("json", re.compile(r"\bjson\b", re.I)))


class _Scan:
    """One pass over the skill's texts, collecting the contract's items."""

    def __init__(self, skill: Skill) -> None:
        self.shapes: dict[str, FileShape] = {}
        self.unnamed: list[FileShape] = []
        self.rules: list[Rule] = []
        self.parameters: list[Parameter] = []
        self.decimals: int | None = None
        self.bundled = {f.path for f in skill.files}

    def text(self, file: str, lines: list[str], first: int) -> None:
        blocks = _blocks(lines)
        inside = {i for start, end, _l, _b in blocks for i in range(start, end + 1)}
        named = {p.name for p in self.parameters}
        for value in task_values(lines, first, inside):
            if value.name not in named:
                self.parameters.append(
                    Parameter(name=value.name, text=value.text, clause=value.clause, default=value.default,
                              kind=value.kind, whole=value.whole, cited=Cited(file=file, lines=value.lines))
                )  # fmt: skip
        section, section_start = "", 0
        for index, line in enumerate(lines):
            if index in inside:
                continue
            if line.startswith("#"):
                self._close_section(file, lines, blocks, section, section_start, index, first)
                section, section_start = line.lstrip("#").strip(), index
                continue
            number = first + index
            cited = Cited(file=file, lines=(number, number))
            self._names(line, index, blocks, cited)
            self._rule(line, section, cited)
            found = _DECIMALS.search(line)
            if found and self.decimals is None:
                word = found.group(1).lower()
                self.decimals = int(word) if word.isdigit() else _WORD_NUMBERS[word]
        self._close_section(file, lines, blocks, section, section_start, len(lines), first)

    def _names(self, line: str, index: int, blocks, cited: Cited) -> None:
        for match in _FILE.finditer(line):
            name = match.group(1)
            if name in self.bundled or name.startswith(("scripts/", "references/", "assets/")):
                continue
            role = _role(line, name)
            if role is None:
                continue
            shape = self.shapes.get(name)
            if shape is None:
                shape = self.shapes[name] = FileShape(path=name, role=role, format=_format(name))
            shape.cited.append(cited)
            for start, _end, language, block in blocks:
                # A block shown right after the sentence is the file's example.
                if 0 < start - index <= 3 and not _is_command_block(language, block):
                    _attach_block(shape, block, language)
                    break
            if shape.format == "csv" and shape.csv_header is None:
                shape.csv_header = _inline_header(line)

    def _rule(self, line: str, section: str, cited: Cited) -> None:
        stripped = line.strip().lstrip("-*0123456789.) ").strip()
        if (
            stripped
            and _RULE.search(stripped)
            and (_RULE_SECTIONS.search(section) or line.lstrip().startswith(("-", "*")))
        ):
            self.rules.append(Rule(text=stripped, cited=cited))

    def _close_section(self, file, lines, blocks, title, start, end, first) -> None:
        """An Input or Output section describes a file the task names: its shape is the
        section's words and the example block in it."""
        role = (
            "input"
            if _INPUT_SECTION.match(title)
            else "output"
            if _OUTPUT_SECTION.match(title)
            else None
        )
        section_text = "\n".join(lines[start:end])
        if role is None or any(
            s.role == role
            and s.path
            and (_cited_in(s, file, first + start, first + end) or s.path in section_text)
            for s in self.shapes.values()
        ):
            return  # the section describes a file the skill names
        prose = " ".join(text.strip() for i, text in enumerate(lines[start + 1 : end], start + 1)
                         if not any(b[0] <= i <= b[1] for b in blocks))  # fmt: skip
        shown = [b for b in blocks if start < b[0] < end and not _is_command_block(b[2], b[3])]
        fmt = next((f for f, word in _FORMAT_WORDS if word.search(prose)), None)
        if fmt is None and shown:
            head = shown[0][3][0] if shown[0][3] else ""
            fmt = "json" if head.lstrip().startswith(("{", "[")) else "lines"
        slots = [
            (i, text) for i, text in enumerate(lines[start + 1 : end], start + 1)
            if _FILE_BULLET.match(text) and not any(b[0] <= i <= b[1] for b in blocks)
        ]  # fmt: skip
        if len(slots) > 1:  # "- A text file … - A stopword file …": one shape each
            for number, (i, line) in enumerate(slots):
                words = line.strip().lstrip("-*0123456789.) ")
                own = next((f for f, w in _FORMAT_WORDS if w.search(words)), None)
                shape = FileShape(path=None, role=role, format=own or "lines",
                    described=_one_line(words, 300), csv_header=_inline_header(words),
                    cited=[Cited(file=file, lines=(first + i, first + i))])  # fmt: skip
                until = slots[number + 1][0] if number + 1 < len(slots) else end
                for _s, _e, language, block in (b for b in shown if i < b[0] < until):
                    real = [text for text in block if not re.search(r"<[^>]+>", text)]
                    if real:  # the example shown under the item is this file's
                        _attach_block(shape, real, language)
                        break
                self.unnamed.append(shape)
            return
        shape = FileShape(path=None, role=role, format=fmt or "text", described=_one_line(prose, 300),
                          cited=[Cited(file=file, lines=(first + start, first + end - 1))])  # fmt: skip
        if shape.format == "json" and not shown:
            shape.json_example = _inline_json(prose)
        for _s, _e, language, block in shown:
            real = [text for text in block if not re.search(r"<[^>]+>", text)]  # no placeholders
            if real:
                _attach_block(shape, real, language)
                break
        if shape.format == "csv" and shape.csv_header is None:
            shape.csv_header = _inline_header(prose)
        self.unnamed.append(shape)

    def sentence_input(self, file: str, lines: list[str], first: int) -> None:
        """A job with outputs but no named input reads "the input file" of the task: the
        first sentence that says so describes it."""
        for index, line in enumerate(lines):
            found = _SENTENCE_INPUT.search(line)
            if (
                found
                and not re.search(r"\b(output|result|report|new|script)\b", found.group(0), re.I)
                and not line.lstrip().startswith(("#", "```"))
            ):
                words = found.group(0)
                fmt = next((f for f, w in _FORMAT_WORDS if w.search(words)), "lines")
                number = first + index
                self.unnamed.append(FileShape(path=None, role="input", format=fmt, described=words,
                                              cited=[Cited(file=file, lines=(number, number))]))  # fmt: skip
                return

    def contract(self) -> Contract:
        named = sorted(
            self.shapes.values(), key=lambda s: (s.cited[0].file != "SKILL.md", s.cited[0].lines)
        )
        shapes = named + self.unnamed
        return Contract(
            inputs=[s for s in shapes if s.role == "input"],
            outputs=[s for s in shapes if s.role == "output"],
            rules=self.rules,
            parameters=self.parameters,
            decimals=self.decimals,
        )


def _cited_in(shape: FileShape, file: str, start: int, end: int) -> bool:
    return any(c.file == file and start <= c.lines[0] <= end for c in shape.cited)


_CONTRACTS: dict[tuple[str, str], Contract] = {}  # (root, content hash) → contract
_CONTRACTS_KEPT = 64


def extract_contract(skill: Skill) -> Contract:
    """The skill's contract; computed once per skill content (a lowering asks for it once
    per trim and again in its guard). Shared by every caller and never changed after it is
    built: a deep copy per call cost more than the rest of a warm recompile."""
    key = (str(skill.root), skill.content_hash)
    if key not in _CONTRACTS:
        if len(_CONTRACTS) >= _CONTRACTS_KEPT:
            _CONTRACTS.pop(next(iter(_CONTRACTS)))
        _CONTRACTS[key] = _extract(skill)
    return _CONTRACTS[key]


def _extract(skill: Skill) -> Contract:
    scan = _Scan(skill)
    texts = _texts(skill)
    for file, lines, first in texts:
        scan.text(file, lines, first)
    shapes = list(scan.shapes.values()) + scan.unnamed
    if any(s.role == "output" for s in shapes) and not any(s.role == "input" for s in shapes):
        scan.sentence_input(*texts[0])
    return scan.contract()


def _is_command_block(language: str, block: list[str]) -> bool:
    return language in ("bash", "sh", "shell", "console", "python", "py", "sql") and not all(
        "," in line for line in block if line.strip()
    )


def _inline_json(text: str) -> str | None:
    for code in re.findall(r"`([^`]+)`", text):
        if code.lstrip().startswith(("{", "[")):
            try:
                json.loads(code)
            except ValueError:
                continue
            return code
    return None


def _inline_header(line: str) -> list[str] | None:
    for code in re.findall(r"`([^`]+)`", line):
        if code.count(",") >= 1 and re.fullmatch(r"[A-Za-z_][\w ]*(?:,[A-Za-z_][\w ]*)+", code):
            return [c.strip() for c in code.split(",")]
    return None


# --- checking outputs against the contract ------------------------------------------------


def check_outputs(contract: Contract, root: Path, outputs: dict[str, str]) -> list[str]:
    """What breaks the contract in the files a run wrote under `root`. `outputs` maps each
    contract output's name to the name this run wrote it under. Empty when all holds."""
    problems = []
    for index, shape in enumerate(contract.outputs):
        label = shape.path or f"output {index + 1}"
        written = root / outputs.get(label, shape.path or label)
        if not written.is_file() or written.is_symlink():
            problems.append(f"{label} was not written")
            continue
        text = written.read_text("utf-8", errors="replace")
        if not text.strip():
            problems.append(f"{label} is empty")
            continue
        problems += [f"{label}: {p}" for p in _check_shape(shape, text, contract.decimals)]
    return problems


def _check_shape(shape: FileShape, text: str, decimals: int | None) -> list[str]:
    if shape.format == "csv":
        return _check_csv(shape, text, decimals)
    if shape.format == "json":
        try:
            value = json.loads(text)
        except ValueError as exc:
            return [f"not valid JSON ({exc.msg} at line {exc.lineno})"]
        problems = []
        if shape.json_example:
            problems += _same_shape(json.loads(shape.json_example), value, "the top level")
        return problems + _check_numbers(_numbers_in(value), decimals)
    if shape.format == "jsonl":
        problems = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    problems.append(f"line {n} is not JSON")
        return problems[:3]
    if shape.format == "lines" and shape.line_pattern:
        pattern = re.compile(shape.line_pattern)
        bad = [
            line for line in text.splitlines() if line.strip() and not pattern.match(line.strip())
        ]
        if bad:
            return [f"line {bad[0]!r} is not shaped like {shape.line_example[0]!r}"]
    return []


def _check_csv(shape: FileShape, text: str, decimals: int | None) -> list[str]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return ["no rows"]
    problems = []
    if shape.csv_header and [h.strip() for h in rows[0]] != shape.csv_header:
        problems.append(
            f"header is {','.join(rows[0])}, the skill says {','.join(shape.csv_header)}"
        )
    width = len(rows[0])
    ragged = [n for n, row in enumerate(rows[1:], 2) if row and len(row) != width]
    if ragged:
        problems.append(
            f"row {ragged[0]} has {len(rows[ragged[0] - 1])} fields, the header {width}"
        )
    cells = [c for row in rows[1:] for c in row]
    return problems + _check_numbers([c for c in cells if re.fullmatch(r"-?\d+\.\d+", c)], decimals)


def _same_shape(example, value, where: str) -> list[str]:
    """The value has the example's JSON types: a mapping of numbers stays one, a list of
    objects keeps the example's keys. Keys of a mapping of values are data, not checked."""
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}

    def kind(v) -> str:
        if isinstance(v, bool):
            return "true/false"
        if isinstance(v, int | float):
            return "a number"
        return kinds.get(type(v), "null")

    if kind(example) != kind(value):
        return [f"{where} is {kind(value)}, the skill shows {kind(example)}"]
    if isinstance(example, dict) and example and isinstance(value, dict):
        sample = next(iter(example.values()))
        fixed = _fixed_keys(example)
        if fixed:
            missing = [k for k in example if k not in value]
            if missing:
                return [f"{where} lacks the key(s) {', '.join(missing)} the skill shows"]
            return [p for k in example for p in _same_shape(example[k], value[k], f"key {k!r}")][:3]
        return [p for k, v in value.items() for p in _same_shape(sample, v, f"key {k!r}")][:3]
    if isinstance(example, list) and example and isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _same_shape(example[0], v, f"item {i}")][:3]
    return []


def _fixed_keys(example: dict) -> bool:
    """An object whose values differ in type is a record with named fields; one whose
    values all share a type is a mapping from data (group names) to values."""
    kinds = {
        type(v) if not isinstance(v, int | float) or isinstance(v, bool) else float
        for v in example.values()
    }
    return (
        len(kinds) > 1
        or len(example) == 1
        and isinstance(next(iter(example.values())), dict | list)
    )


def _numbers_in(value) -> list[str]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, float):
        return [repr(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers_in(v)]
    return []


def _check_numbers(numbers: list[str], decimals: int | None) -> list[str]:
    if decimals is None:
        return []
    over = [n for n in numbers if "." in n and "e" not in n and len(n.split(".")[1]) > decimals]
    return [f"{over[0]} has more than {decimals} decimal places"] if over else []
