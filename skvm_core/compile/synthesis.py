"""Verified synthesis: a compiler model writes the script a skill's job needs, held to the
skill's own contract, and a script is offered only when independent candidates agree.

1. The compiler designs nothing the model could get wrong: the script's command line (one
   option per input and output file of the contract) is fixed as a skeleton.
2. The model writes example inputs following the contract's input shapes, with the edge
   cases the rules name; files that break a stated shape are dropped.
3. It writes N candidate scripts (sampled, one seed each). Each runs on the examples in the
   sandbox; its outputs are checked against the contract. A failing candidate gets its
   error back once.
4. The passing candidates are grouped by what they wrote. The largest group wins when it
   holds at least `threshold` of the N; its agreement and every check are recorded, and
   below the threshold nothing is offered, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
import time
from pathlib import Path

from pydantic import BaseModel, Field

from skvm_core.agent.sandbox import run_command
from skvm_core.compile.commandline import parse_command
from skvm_core.compile.contract import Contract, FileShape, Parameter, check_outputs
from skvm_core.compile.executable import ScriptHelp, bundle_files
from skvm_core.compile.script_cli import parse_help
from skvm_core.compile.verify import Verification, run_sync, scratch_layout, verify_command
from skvm_core.llm.client import CallOptions
from skvm_core.skill import Skill

SYNTHESIS_VERSION = "5"
DEFAULT_CANDIDATES = 4
DEFAULT_THRESHOLD = 0.5
RUN_TIMEOUT_S = 20.0
_FENCE = re.compile(r"```([\w:./-]*)[ \t]*\n(.*?)```", re.DOTALL)
MAX_FILE_CHARS = 4_000
MAX_EXAMPLE_LINES = 20
EXAMPLE_TOKENS = 500
SCRIPT_TOKENS = 1100


class FileOption(BaseModel):
    flag: str  # --input, --stopwords, --output
    shape: FileShape
    example: str  # the path the examples use


class ValueOption(BaseModel):
    """An option for a value the task gives, with the value the examples run with."""

    flag: str  # --minimum-length
    parameter: Parameter
    example: str  # the default the skill states, else a value the compiler model chose


class CandidateRecord(BaseModel):
    seed: int
    passed: bool
    problems: list[str] = Field(default_factory=list)
    repaired: bool = False
    outputs_digest: str | None = None


class Synthesis(BaseModel):
    """What synthesis did for a skill, recorded in meta.json and shown by explain."""

    model: str
    offered: bool
    reason: str
    script_path: str | None = None
    script: str | None = None
    command: str | None = None  # the verified example call
    help_output: str = ""  # the winning script's own --help, run in the sandbox
    # What fills each option, in the skill's words: the script's help where it kept them.
    option_help: dict[str, str] = Field(default_factory=dict)
    agreement: tuple[int, int] = (0, 0)  # (k, n): the winning group's size of the N
    candidates: list[CandidateRecord] = Field(default_factory=list)
    examples: dict[str, str] = Field(default_factory=dict)
    edge_examples: dict[str, str] = Field(default_factory=dict)  # the special-case set, if any
    tokens: int = 0
    seconds: float = 0.0

    def help(self) -> ScriptHelp | None:
        if not self.offered or not self.script or not self.command or not self.script_path:
            return None
        example = parse_command(self.command, {self.script_path})
        check = Verification(
            command=self.command,
            passed=True,
            exit_code=0,
            evidence=f"met the skill's contract; {self.agreement[0]} of {self.agreement[1]} candidates agree",
        )
        interface = parse_help(self.help_output) if self.help_output else None
        for argument in interface.all_arguments() if interface else []:
            if argument.flag and not argument.help.strip():
                argument.help = self.option_help.get(argument.flag, "")
        return ScriptHelp(
            script=self.script_path,
            runner="python3",
            origin=f"synthesised:{self.model}",
            text=self.script,
            interface=interface,
            examples=[example] if example else [],
            checks=[check],
        )


MAX_REFERENCE_CHARS = 8_000


def job_text(skill: Skill) -> str:
    """SKILL.md's body, followed by the reference documents it points to: a skill that
    keeps its procedure in `references/*.md` states its job there."""
    parts = [skill.body.strip()]
    room = MAX_REFERENCE_CHARS
    for bundle in skill.files:
        if not (bundle.is_text and bundle.path.endswith(".md") and bundle.path in skill.body):
            continue
        text = (skill.root / bundle.path).read_text("utf-8", errors="replace").strip()
        if len(text) > room:
            continue
        room -= len(text)
        parts.append(f"The file {bundle.path}:\n\n{text}")
    return "\n\n".join(parts)


def file_options(contract: Contract) -> list[FileOption]:
    """One option per contract file: named after the file's stem or its description."""
    options, taken = [], set()
    for role, shapes in (("input", contract.inputs), ("output", contract.outputs)):
        for index, shape in enumerate(shapes):
            stem = _slug(shape) or (role if len(shapes) == 1 else f"{role}{index + 1}")
            if stem in taken or (len(shapes) == 1 and shape.path is None):
                stem = role if role not in taken else f"{role}{index + 1}"
            taken.add(stem)
            suffix = {"csv": ".csv", "json": ".json", "jsonl": ".jsonl"}.get(shape.format, ".txt")
            if shape.path:
                suffix = Path(shape.path).suffix or suffix
            folder = "examples" if role == "input" else "out"
            options.append(
                FileOption(flag=f"--{stem}", shape=shape, example=f"{folder}/{stem}{suffix}")
            )
    return options


def _slug(shape: FileShape) -> str | None:
    if shape.path:
        return re.sub(r"[^a-z0-9]+", "-", Path(shape.path).stem.lower()).strip("-") or None
    found = re.match(
        r"\s*(?:an?|the|one)\s+((?:[a-z]+\s+){0,2}?)(?:file|csv|json|list|log)\b",
        shape.described,
        re.I,
    )
    words = found.group(1).split() if found else []
    words = [w for w in words if w.lower() not in ("csv", "json", "plain")]
    return "-".join(w.lower() for w in words) or None


def value_options(contract: Contract, files: list[FileOption]) -> list[ValueOption]:
    """One option per value the task gives, named as the skill names it; the example value
    is the stated default (a value without one is filled in from the example answer)."""
    taken = {o.flag for o in files} | {"--help"}
    found = []
    for parameter in contract.parameters:
        flag = f"--{parameter.name}"
        if flag in taken:
            flag = f"--{parameter.name}-value"
        taken.add(flag)
        found.append(ValueOption(flag=flag, parameter=parameter, example=parameter.default or ""))
    return found


def skeleton(contract: Contract, options: list[FileOption], values: list[ValueOption] = ()) -> str:
    lines = ["import argparse", "", "parser = argparse.ArgumentParser()"]
    for option in options:
        what = option.shape.described or option.shape.path or option.shape.format
        lines.append(
            f'parser.add_argument("{option.flag}", required=True, help={_short(option.shape.role + ": " + what)!r})'
        )
    for value in values:
        default = value.parameter.default
        if default is None:
            kind = (
                ", type=int"
                if value.parameter.whole
                else ", type=float"
                if value.parameter.kind == "number"
                else ""
            )
            how = "required=True" + kind
        elif re.fullmatch(r"-?\d+", default):
            how = f"type=int, default={default}"
        elif re.fullmatch(r"-?\d+\.\d+", default):
            how = f"type=float, default={default}"
        else:
            how = f"default={default!r}"
        help_text = _short(_value_help(value.parameter), 120)
        lines.append(f'parser.add_argument("{value.flag}", {how}, help={help_text!r})')
    lines += ["args = parser.parse_args()", ""]
    lines += _output_notes(options)
    lines += [
        "# TODO: the whole job, reading and writing only the files above"
        + (", with the values above" if values else ""),
    ]
    return "\n".join(lines)


def _output_notes(options: list[FileOption]) -> list[str]:
    """What each output must look like, where the contract states it, as comments beside
    the code that writes it (a small model drops a header it read only in the prose)."""
    notes = []
    for option in options:
        if option.shape.role != "output":
            continue
        where = "args." + option.flag.removeprefix("--").replace("-", "_")
        if option.shape.csv_header:
            header = ",".join(option.shape.csv_header)
            notes.append(f"# {where}: a CSV file whose first row is exactly the header {header}")
        elif option.shape.json_example:
            example = " ".join(option.shape.json_example.split())
            notes.append(f"# {where}: JSON shaped like {_short(example, 150)}")
    return notes


def _value_help(parameter: Parameter) -> str:
    clause = " ".join((parameter.clause or parameter.text).split())
    return clause + (f" ({parameter.default} if the task gives none)" if parameter.default else "")


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


EXAMPLES_PROMPT = """You write small test input files for a program that does the job of this skill.

The skill:

{skill}

What the skill says the files look like:
{contract}

{ask}
"""
FILE_ASK = """Write one small example of this input (5 to 15 lines, realistic): {file}

Follow the stated shape exactly. Most lines are ordinary data; add a few of the special cases the skill names (lines to skip, blanks, duplicates, mixed case, missing values), so a program's handling of them is tested.

Answer with exactly this block, filled with the file's lines, and nothing else:

```file:{path}
...
```"""
EDGE_ASK = """Write one small example of this input (5 to 15 lines) that tests the special cases the skill names: {file}

Follow the stated shape exactly. Build it around every rule of the skill that a careless program would get wrong: ties, duplicates, lines to skip, blanks, mixed case, values at a limit, empty groups. Keep a few ordinary lines too.

Answer with exactly this block, filled with the file's lines, and nothing else:

```file:{path}
...
```"""
VALUES_ASK = """A task using this skill gives these values:
{values}

Choose a realistic value for each, as a task would give it. Answer with exactly this block, each line filled in, and nothing else:

```values
{lines}
```"""
EXAMPLE_ATTEMPTS = 2


SCRIPT_PROMPT = """You write one Python 3 script (standard library only) that does the whole job of this skill, so that a weaker model only has to run it.

The skill:

{skill}

What the skill says its inputs and outputs look like:
{contract}

Start from this skeleton and keep its options exactly (the task's file names arrive through them):

```python
{skeleton}
```
{samples}
Follow every rule of the skill. Print one line saying what was written. Answer with the complete script in one ```python block and nothing else."""

REPAIR = "Run on the example files, that script failed: {problem}. Fix it and answer with the complete script in one ```python block."


def synthesise(
    skill: Skill,
    contract: Contract,
    model: str,
    *,
    candidates: int = DEFAULT_CANDIDATES,
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
) -> Synthesis:
    """Synthesis for a skill's job; never raises for what a model writes."""
    started = time.perf_counter()
    result = Synthesis(model=model, offered=False, reason="")
    if not contract.computable:
        result.reason = "the skill names no input and output files to compute from and to, so there is no job a script could be checked on"
        return result
    options = file_options(contract)
    values = value_options(contract, options)
    summary = "\n".join(f"- {line}" for line in contract.summary()) or "- (nothing stated)"
    body = job_text(skill)
    examples = _examples(body, summary, options, values, model, seed, result)
    # A second set built around the special cases the skill names: agreement on ordinary
    # lines alone lets wrong candidates agree (a tie rule, a skip rule never exercised).
    edge = (
        _examples(body, summary, options, values, model, seed + 7, result, edge=True)
        if examples
        else {}
    )
    sets = [examples] + ([edge] if edge and edge != examples else [])
    if not examples:
        result.reason = (
            result.reason
            or f"{model} wrote no example inputs that follow the skill's stated shapes"
        )
        result.seconds = time.perf_counter() - started
        return result
    result.examples = {p: c.decode() for p, c in examples.items()}
    result.edge_examples = {p: c.decode() for p, c in edge.items()} if len(sets) > 1 else {}
    script_path = (
        f"scripts/{re.sub(r'[^a-z0-9-]+', '-', skill.name.lower()).strip('-') or 'job'}.py"
    )
    command = " ".join(
        ["python3", script_path, *(f"{o.flag} {o.example}" for o in options)]
        + [f"{v.flag} {shlex.quote(v.example)}" for v in values]
    )
    prompt = SCRIPT_PROMPT.format(
        skill=body,
        contract=summary,
        skeleton=skeleton(contract, options, values),
        samples=_samples(examples),
    )
    flags = [o.flag for o in options] + [v.flag for v in values]
    result.option_help = {v.flag: _value_help(v.parameter) for v in values}
    passing: dict[str, list[tuple[int, str]]] = {}
    needed = max(2 if candidates > 1 else 1, math.ceil(threshold * candidates))
    for index in range(candidates):
        record, script = _candidate(
            prompt,
            model,
            seed + index + 1,
            skill,
            contract,
            options,
            flags,
            sets,
            script_path,
            command,
            result,
        )
        result.candidates.append(record)
        if record.passed and script is not None and record.outputs_digest:
            passing.setdefault(record.outputs_digest, []).append((record.seed, script))
        if _decided(passing, candidates - index - 1, needed):
            break  # no other group can overtake the leader: the rest would change nothing
    result.seconds = time.perf_counter() - started
    if not passing:
        problems = "; ".join(p for c in result.candidates for p in c.problems[:1])
        result.reason = f"none of the {candidates} candidate scripts met the skill's contract ({_short(problems, 300)})"
        return result
    group = max(passing.values(), key=lambda g: (len(g), -g[0][0]))
    result.agreement = (len(group), len(result.candidates))
    if len(group) < needed:
        result.reason = (
            f"the candidates that met the contract disagree: the largest group that wrote the same "
            f"outputs has {len(group)} of {candidates}, below the {needed} required"
        )
        return result
    winner = group[0][1]
    result.offered, result.script, result.script_path, result.command = (
        True,
        winner,
        script_path,
        command,
    )
    shown = verify_command(f"python3 {script_path} --help", {script_path: winner.encode()}, [])
    result.help_output = shown.output if shown.passed else ""
    result.reason = f"{len(group)} of {candidates} candidate scripts met the contract and wrote the same outputs"
    return result


SAMPLE_LINES = 8


def _samples(examples: dict[str, bytes]) -> str:
    """The first lines of each example input: a small model parses a format it has seen far
    more reliably than one it has only read described (a time range, a quoted field)."""
    if not examples:
        return ""
    parts = ["\nIt is tested on example files like these (the task's own files will differ):"]
    for path, content in examples.items():
        lines = content.decode("utf-8", errors="replace").splitlines()
        shown = "\n".join(line[:200] for line in lines[:SAMPLE_LINES])
        more = (
            f"\n... ({len(lines) - SAMPLE_LINES} more lines)" if len(lines) > SAMPLE_LINES else ""
        )
        parts.append(f"{path}:\n```text\n{shown}{more}\n```")
    return "\n".join(parts) + "\n"


def _decided(passing: dict[str, list[tuple[int, str]]], remaining: int, needed: int) -> bool:
    """The leading group has the agreement it needs, and no other group (or one the
    remaining candidates could form) can outgrow it; a tie goes to the earlier seed."""
    if not passing or remaining == 0:
        return False
    groups = sorted(passing.values(), key=lambda g: (-len(g), g[0][0]))
    leader, others = groups[0], groups[1:]
    if len(leader) < needed:
        return False
    return all(
        len(g) + remaining < len(leader)
        or (len(g) + remaining == len(leader) and leader[0][0] < g[0][0])
        for g in others
    ) and remaining <= len(leader)  # a group of only new candidates loses a tie


def _ask(
    model: str,
    messages: list[dict],
    seed: int,
    temperature: float,
    result: Synthesis,
    limit: int,
    stop: tuple[str, ...] = (),
    finished: bool = False,
):
    """The answer's text; with `finished`, also whether it ended before the token limit."""
    from skvm_core.llm import complete

    options = CallOptions(
        temperature=temperature, seed=seed, max_tokens=limit, timeout_s=900, stop=stop
    )
    response = run_sync(complete(model, messages, options=options))
    result.tokens += response.usage.input + response.usage.output
    text = response.text or ""
    return (text, response.usage.output < limit) if finished else text


def _examples(body, summary, options, values, model, seed, result, edge=False) -> dict[str, bytes]:
    """One example file per input (one short answer each, stopped where its block closes),
    then the values the task would give; a file that breaks its stated shape is asked for
    again with another seed, else the skill's own example stands in."""
    inputs = [o for o in options if o.shape.role == "input"]
    found: dict[str, bytes] = {}
    for option in inputs:
        ask = (EDGE_ASK if edge else FILE_ASK).format(
            file=f"{_short(option.shape.described or option.shape.path or '', 300)} ({option.shape.format})",
            path=option.example,
        )
        prompt = EXAMPLES_PROMPT.format(skill=body, contract=summary, ask=ask)
        text = None
        for attempt in range(EXAMPLE_ATTEMPTS):
            # Sampled, not greedy: greedy decoding of a list of example lines repeats one
            # line pattern until the limit and never closes the block.
            answer = _ask_block(model, prompt, seed + 100 * attempt, result)
            written = _file_blocks(answer)
            text = written.get(option.example) or next(iter(written.values()), None)
            if text is not None and len(text) <= MAX_FILE_CHARS and _follows(option.shape, text):
                break
            text = None
        if text is None and edge:
            return {}  # the special-case set is extra: without it, the ordinary set stands
        text = text or _shown(option.shape)  # the skill's own example, where it shows one
        if text is None:
            return {}
        found[option.example] = text.encode()
    unset = [v for v in values if not v.example]
    if unset and not edge:
        ask = VALUES_ASK.format(
            values="\n".join(
                f"- {v.flag}: {_short(' '.join(v.parameter.text.split()), 140)}" for v in unset
            ),
            lines="\n".join(f"{v.flag} ..." for v in unset),
        )
        prompt = EXAMPLES_PROMPT.format(skill=body, contract=summary, ask=ask)
        answer = _ask_block(model, prompt, seed, result)
        for value in unset:
            value.example = _value_in(answer, value) or _value_shown(value.parameter)
    return found


def _ask_block(model: str, prompt: str, seed: int, result: Synthesis) -> str:
    """An answer that is one fenced block, stopped at its closing fence (and closed again:
    the stop string is not part of the text)."""
    text, complete = _ask(
        model,
        [{"role": "user", "content": prompt}],
        seed,
        0.7,
        result,
        EXAMPLE_TOKENS,
        stop=("\n```\n", "\n```<"),
        finished=True,
    )
    return text.rstrip() + "\n```\n" if complete and text.count("```") % 2 else text


def _value_in(answer: str, value: ValueOption) -> str | None:
    """The value the example answer gave an option: `--flag VALUE` in its values block."""
    block = re.search(r"```values[ \t]*\n(.*?)(?:```|\Z)", answer, re.DOTALL)
    found = re.search(
        rf"^\s*{re.escape(value.flag)}[ \t=:]+(.+?)\s*$", block.group(1) if block else "", re.M
    )
    text = found.group(1).strip().strip("\"'`") if found else ""
    return text if text and text != "..." and len(text) <= 80 else None


def _value_shown(parameter: Parameter) -> str:
    """A value the skill's own sentence shows ("for example "levels 2 to 3""), else a
    number in it, else 3: the examples need some value, and this one is the skill's."""
    quoted = re.search(
        r"(?:for example|e\.g\.|such as)[,:]?\s+[\"“`]([^\"”`]{1,60})[\"”`]", parameter.text
    )
    if quoted:
        return quoted.group(1)
    number = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])", parameter.text)
    return number.group(1) if number else "3"


def _file_blocks(answer: str) -> dict[str, str]:
    """`file:` blocks of an answer; one cut off at the output limit keeps its first lines."""
    found: dict[str, str] = {}
    for match in re.finditer(r"```file:([^\n`]+)\n(.*?)(```|\Z)", answer, re.DOTALL):
        lines = match.group(2).splitlines()
        if not match.group(3):
            lines = lines[:-1]  # the last line of a cut-off block may be cut too
        # The first block per file: a small model may go on repeating the answer.
        found.setdefault(match.group(1).strip(), "\n".join(lines[:MAX_EXAMPLE_LINES]) + "\n")
    return found


def _follows(shape: FileShape, text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or len(set(lines)) < min(3, len(lines)):
        return False  # one line repeated is no test
    if (
        shape.format in ("lines", "csv", "text")
        and sum(1 for line in lines if not line.lstrip().startswith("#")) < 2
    ):
        return False  # only comments and blanks: the job itself is not tested
    if shape.format == "csv" and shape.csv_header:
        return [h.strip() for h in lines[0].split(",")] == shape.csv_header
    if shape.format == "json":
        try:
            json.loads(text)
        except ValueError:
            return False
    if shape.line_pattern:
        pattern = re.compile(shape.line_pattern)
        return sum(1 for line in lines if pattern.match(line.strip())) >= max(1, len(lines) // 2)
    return True


def _shown(shape: FileShape) -> str | None:
    if shape.json_example:
        return shape.json_example + "\n"
    if shape.line_example:
        return "\n".join(shape.line_example) + "\n"
    return None


def _candidate(
    prompt, model, seed, skill, contract, options, flags, sets, script_path, command, result
):
    messages = [{"role": "user", "content": prompt}]
    record = CandidateRecord(seed=seed, passed=False)
    for attempt in range(2):
        # The answer ends where its code block closes: what a model says after the code
        # costs seconds per candidate and is never read.
        answer = _ask(model, messages, seed, 0.8, result, SCRIPT_TOKENS, stop=("\n```\n", "\n```<"))
        script = _script_of(answer) or next(
            (
                t
                for label, t in _FENCE.findall(answer)
                if label.lower() in ("python", "py", "python3", "")
            ),
            None,
        )
        script = with_missing_imports(script) if script else script
        problem, digest = _check(
            script, skill, contract, options, flags, sets, script_path, command
        )
        record.repaired = attempt > 0
        if problem is None:
            record.passed, record.outputs_digest = True, digest  # problems: what was repaired
            return record, script
        record.problems.append(problem)
        messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": REPAIR.format(problem=problem)},
        ]
    return record, None


def _script_of(answer: str) -> str | None:
    """The code of an answer that opens a python block and was stopped at its close (a
    repair often starts with a sentence before its block)."""
    found = re.search(r"^```(?:python3?|py)?[ \t]*\n(.*)", answer, re.DOTALL | re.M)
    if found is None or "```" in found.group(1):
        return None  # no block, or a closed one (the fence parser reads it)
    return found.group(1).rstrip() + "\n"


# Names a small model uses without importing them, and the import that defines each.
_STDLIB_NAMES = {
    **{m: f"import {m}" for m in (
        "re", "os", "sys", "csv", "json", "math", "glob", "shutil", "statistics", "string",
        "itertools", "functools", "collections", "datetime", "decimal", "fractions", "io",
    )},
    **{n: f"from collections import {n}" for n in ("Counter", "defaultdict", "OrderedDict", "deque", "namedtuple")},
    **{n: f"from decimal import {n}" for n in ("Decimal", "ROUND_HALF_UP", "ROUND_HALF_EVEN", "InvalidOperation")},
    **{n: f"from datetime import {n}" for n in ("date", "timedelta", "timezone")},
    "Fraction": "from fractions import Fraction",
    "Path": "from pathlib import Path",
}  # fmt: skip


def with_missing_imports(script: str) -> str:
    """The script with the standard-library imports it uses but never made, added at the
    top (a deterministic repair: the model's code is otherwise unchanged)."""
    import ast
    import builtins

    try:
        tree = ast.parse(script)
    except SyntaxError:
        return script
    defined = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            defined.add(node.name)
            defined |= {a.arg for a in node.args.args + node.args.kwonlyargs}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    missing = sorted({_STDLIB_NAMES[n] for n in used - defined if n in _STDLIB_NAMES})
    return "\n".join(missing) + "\n" + script if missing else script


def _check(
    script, skill, contract, options, flags, sets, script_path, command
) -> tuple[str | None, str | None]:
    """The first problem of a candidate on any example set, else the digest of all the
    outputs it wrote (candidates agree when they wrote the same on every set)."""
    if not script:
        return "there was no ```python block", None
    try:
        compile(script, script_path, "exec")
    except SyntaxError as exc:
        return f"the script does not parse: {exc.msg} (line {exc.lineno})", None
    missing = [flag for flag in flags if flag not in script]
    if missing:
        return f"the script lacks the option(s) {', '.join(missing)} of the skeleton", None
    outputs = {
        o.shape.path or f"output {i + 1}": o.example
        for i, o in enumerate(o for o in options if o.shape.role == "output")
    }
    digests = []
    for number, examples in enumerate(sets):
        layout = {**bundle_files(skill), **examples, script_path: script.encode()}
        problem, digest = run_sync(_run(command, layout, contract, outputs))
        if problem is not None:
            where = " (on the special-case examples)" if number else ""
            return problem + where, None
        digests.append(digest)
    return None, digests[0] if len(digests) == 1 else hashlib.sha256(
        "".join(digests).encode()
    ).hexdigest()


async def _run(command, layout, contract, outputs) -> tuple[str | None, str | None]:
    with scratch_layout(layout) as scratch:
        (scratch / "out").mkdir(exist_ok=True)
        done = await run_command(command, scratch, timeout_s=RUN_TIMEOUT_S, output_cap=8_000)
        if done.timed_out:
            return f"`{command}` timed out after {RUN_TIMEOUT_S:.0f} s", None
        if done.exit_code != 0:
            return (
                f"`{command}` exited {done.exit_code}{_failure(done.stderr or done.stdout)}",
                None,
            )
        problems = check_outputs(contract, scratch, outputs)
        if problems:
            return "the output breaks the skill's stated format: " + "; ".join(problems[:3]), None
        digest = hashlib.sha256()
        for name in sorted(outputs.values()):
            digest.update(name.encode() + b"\0" + (scratch / name).read_bytes() + b"\0")
        return None, digest.hexdigest()


def _failure(output: str) -> str:
    """Where and why a script failed, in one line: its last error line, and the script line
    the traceback ends in (the repair needs the line, not only the exception)."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    error = lines[-1].strip()[:240]
    frames = [i for i, line in enumerate(lines) if re.match(r'\s*File "[^"]*scripts/', line)]
    if frames and frames[-1] + 1 < len(lines) - 1:
        number = re.search(r"line (\d+)", lines[frames[-1]])
        code = lines[frames[-1] + 1].strip()[:160]
        return f" at line {number.group(1) if number else '?'} (`{code}`): {error}"
    return f": {error}"


def synthesis_key(skill: Skill, contract: Contract, model: str, options: dict) -> str:
    """What synthesis depends on: the contract (without its line citations), the skill's
    procedure (list items and code), the model and the options. An edit elsewhere in the
    prose reuses the stored result."""
    payload = {
        "version": SYNTHESIS_VERSION,
        "model": model,
        "candidates": options.get("synthesis_candidates") or DEFAULT_CANDIDATES,
        "threshold": options.get("synthesis_threshold") or DEFAULT_THRESHOLD,
        "seed": options.get("seed") or 0,
        "contract": contract.model_dump(
            mode="json",
            exclude={
                "inputs": {"__all__": {"cited"}},
                "outputs": {"__all__": {"cited"}},
                "rules": {"__all__": {"cited"}},
                "parameters": {"__all__": {"cited"}},
            },
        ),  # fmt: skip
        "procedure": [i.text for lst in skill.ir.lists for i in lst.items],
        "code": [(b.language, b.code) for b in skill.ir.code_blocks],
        "files": [(f.path, f.sha256) for f in skill.files],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _stored_path(skill: Skill, model: str, options: dict, cache_dir: Path | None) -> Path | None:
    from skvm_core.compile.contract import extract_contract

    key = synthesis_key(skill, extract_contract(skill), model, options)
    return cache_dir / "synthesis" / f"{key}.json" if cache_dir else None


def stored_synthesis(
    skill: Skill, model: str, options: dict, cache_dir: Path | None
) -> Synthesis | None:
    """The synthesis already done for this skill's contract and procedure, if any."""
    path = _stored_path(skill, model, options, cache_dir)
    if path is None or not path.is_file():
        return None
    try:
        return Synthesis.model_validate_json(path.read_text("utf-8"))
    except ValueError:
        return None  # a damaged entry is synthesised again


def cached_synthesis(skill: Skill, model: str, options: dict, context) -> Synthesis:
    """Synthesis once per key: the same for every target that needs it, and across runs."""
    from skvm_core.compile.contract import extract_contract
    from skvm_core.store.atomic import atomic_write_text

    contract = extract_contract(skill)
    path = _stored_path(skill, model, options, context.cache_dir)
    stored = stored_synthesis(skill, model, options, context.cache_dir)
    if stored is not None:
        return stored
    result = synthesise(
        skill,
        contract,
        model,
        candidates=options.get("synthesis_candidates") or DEFAULT_CANDIDATES,
        threshold=options.get("synthesis_threshold") or DEFAULT_THRESHOLD,
        seed=options.get("seed") or 0,
    )
    if path is not None:
        atomic_write_text(path, result.model_dump_json())
    return result
