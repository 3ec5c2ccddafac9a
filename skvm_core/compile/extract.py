"""Turn a skill's example Python block into a script the variant ships: the file names it
reads and writes, and the names it looks up in its data (`row["region"]`), become
command-line arguments; the computation stays the example's.

For a target that cannot write the code itself, running a verified script with the task's
names is within reach where retyping the block is not (code retyped through tool-call
arguments loses escapes such as `\\n`). The script is only offered once it has run on input
synthesised from the skill and written its outputs.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from skvm_core.compile.analyze import kebab
from skvm_core.compile.commandline import is_path
from skvm_core.skill import Skill

PYTHON_LANGS = {"python", "py", "python3"}
_WRITE_MODES = re.compile(r"^[wax]")
_WRITE_CALLS = re.compile(r"(write|save|dump|to_)", re.IGNORECASE)
_KEY = re.compile(r"^[A-Za-z_][\w -]{0,40}$")


@dataclass
class Parameter:
    literal: str
    dest: str
    flag: str | None  # None for a positional
    role: str  # "input", "output", "name" or "setting"
    kind: str = "str"  # the type of a setting's value: str, int or float
    said: str | None = None  # the skill's own words for what the task puts there


@dataclass
class ExtractedScript:
    path: str  # where the variant ships it
    text: str
    parameters: list[Parameter]
    lines: tuple[int, int]  # the code block in SKILL.md

    def example_command(self) -> str:
        words = ["python3", self.path]
        words += [p.literal for p in self.parameters if p.flag is None]
        for p in self.parameters:
            if p.flag is not None:
                words += [p.flag, p.literal]
        return " ".join(words)


def _literal_roles(tree: ast.AST) -> dict[str, str]:
    roles: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and is_path(first.value)
            ):
                name = _call_name(node.func)
                mode = _mode(node)
                writes = (name == "open" and mode and _WRITE_MODES.match(mode)) or (
                    name != "open" and _WRITE_CALLS.search(name)
                )
                roles[first.value] = "output" if writes else roles.get(first.value, "input")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            key = node.slice
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _KEY.match(key.value)
            ):
                roles.setdefault(key.value, "name")
    for node in ast.walk(tree):  # file names passed anywhere else (Path("x.csv"))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and is_path(node.value):
            roles.setdefault(node.value, "input")
    return roles


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _mode(call: ast.Call) -> str | None:
    if len(call.args) > 1 and isinstance(call.args[1], ast.Constant):
        return str(call.args[1].value)
    for keyword in call.keywords:
        if keyword.arg == "mode" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str) and node.value in self.mapping:
            replacement = ast.Attribute(
                value=ast.Name(id="ARGS", ctx=ast.Load()),
                attr=self.mapping[node.value],
                ctx=ast.Load(),
            )
            return ast.copy_location(replacement, node)
        return node


def _dest(literal: str, taken: set[str]) -> str:
    base = re.sub(r"\W+", "_", literal).strip("_").lower() or "value"
    if base[0].isdigit():
        base = f"v_{base}"
    dest, n = base, 2
    while dest in taken:
        dest, n = f"{base}_{n}", n + 1
    taken.add(dest)
    return dest


def _parameters(roles: dict[str, str]) -> list[Parameter]:
    taken: set[str] = {"args"}
    parameters = []
    outputs = [lit for lit, role in roles.items() if role == "output"]
    order = {"input": 0, "name": 1, "output": 2}
    for literal, role in sorted(roles.items(), key=lambda item: order[item[1]]):
        dest = _dest(literal, taken)
        if role == "input":
            flag = None
        elif role == "output":
            flag = "--out" if literal == outputs[0] else f"--out-{dest.replace('_', '-')}"
        else:
            flag = f"--{dest.replace('_', '-')}"
        parameters.append(Parameter(literal=literal, dest=dest, flag=flag, role=role))
    return parameters


def _setting(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.targets[0].id) is not None
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str | int | float)
        and not isinstance(node.value.value, bool)
    )


def _settings(tree: ast.Module) -> list[Parameter]:
    """`INPUT = "data.csv"`, `STEP = 10` at the top of an example: the values a skill tells
    the agent to set from the task. Each becomes an option with the example's default."""
    found = []
    writes = {
        n.args[0].id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Name)
        and (_call_name(n.func) != "open" and _WRITE_CALLS.search(_call_name(n.func))
             or _call_name(n.func) == "open" and (_mode(n) or "").startswith(("w", "a", "x")))
    }  # fmt: skip
    for node in tree.body:
        if not _setting(node):
            continue
        name, value = node.targets[0].id, node.value.value
        kind = type(value).__name__
        role = "setting"
        if isinstance(value, str) and is_path(value):
            role = "output" if name in writes or "OUT" in name else "input"
        literal = value if kind == "str" else repr(value)
        found.append(
            Parameter(
                literal=literal,
                dest=name.lower(),
                flag=f"--{name.lower().replace('_', '-')}",
                role=role,
                kind=kind,
            )
        )
    return found


def _help(parameter: Parameter) -> str:
    if parameter.said:
        return f"{parameter.said} (the example used {parameter.literal})"
    if parameter.role == "setting":
        return f"the example's {parameter.dest.upper()} (it used {parameter.literal})"
    if parameter.role == "input":
        return f"file to read (the example read {parameter.literal})"
    if parameter.role == "output":
        return f"file to write (the example wrote {parameter.literal})"
    return f"the name the example looked up as {parameter.literal!r} (a column or key of the input)"


def extract_script(
    skill: Skill, code: str, lines: tuple[int, int], title: str, taken_paths: set[str]
) -> ExtractedScript | None:
    """The parameterised script for one example block, or None when it has no file to
    work on (nothing to parameterise) or does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    settings = _settings(tree)
    for setting in settings:  # what the skill says fills it: "`STEP`: the logging interval…"
        said = re.search(rf"`{re.escape(setting.dest.upper())}`\s*[:—–-]\s*(.+)", skill.source)
        if said:
            setting.said = said.group(1).strip().rstrip(";.")
    if settings:  # a block's settings, where it has them, are its whole interface
        parameters = settings
    else:
        roles = _literal_roles(tree)
        if not any(role in ("input", "output") for role in roles.values()):
            return None
        parameters = _parameters(roles)
    future = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    tree.body = [n for n in tree.body if n not in future]
    if settings:  # NAME = "value" at the top becomes NAME = ARGS.name; nothing else changes
        named = {p.dest: p for p in settings}
        for node in tree.body:
            if _setting(node) and node.targets[0].id.lower() in named:
                node.value = ast.Attribute(
                    value=ast.Name(id="ARGS", ctx=ast.Load()),
                    attr=node.targets[0].id.lower(),
                    ctx=ast.Load(),
                )
        body = ast.unparse(ast.fix_missing_locations(tree))
    else:
        body = ast.unparse(
            ast.fix_missing_locations(
                _Substitute({p.literal: p.dest for p in parameters}).visit(tree)
            )
        )
    arguments = []
    for p in parameters:
        if p.kind != "str":
            arguments.append(
                f"PARSER.add_argument({p.flag!r}, dest={p.dest!r}, type={p.kind}, default={p.literal}, help={_help(p)!r})"
            )
        elif p.flag is None:
            arguments.append(f"PARSER.add_argument({p.dest!r}, help={_help(p)!r})")
        else:
            required = "required=True, " if p.role == "output" else f"default={p.literal!r}, "
            arguments.append(
                f"PARSER.add_argument({p.flag!r}, dest={p.dest!r}, {required}help={_help(p)!r})"
            )
    name = kebab(title) or "example"
    path = f"scripts/{name}.py"
    n = 2
    while path in taken_paths:
        path, n = f"scripts/{name}-{n}.py", n + 1
    header = (
        # The section, not line numbers: an edit above the block leaves the script (and its
        # cached checks) unchanged.
        f'"""{skill.name}: the example of SKILL.md section {title!r} as a script.\n\n'
        "Written by the skvm compiler: the example's file names and looked-up names are\n"
        'arguments (see --help); the computation is the example\'s own."""\n'
    )
    text = (
        header
        + "".join(ast.unparse(n) + "\n" for n in future)
        + "import argparse\n\n"
        + f"PARSER = argparse.ArgumentParser(description={('Run the example from ' + skill.name)!r})\n"
        + "\n".join(arguments)
        + "\nARGS = PARSER.parse_args()\n\n"
        + body
        + "\n"
    )
    return ExtractedScript(path=path, text=text, parameters=parameters, lines=lines)


_HEREDOC = re.compile(
    r"^\s*python3?\s+-\s*<<-?\s*(['\"]?)(\w+)\1[^\n]*\n(.*?)\n\s*\2\s*$", re.DOTALL | re.MULTILINE
)


def python_examples(skill: Skill) -> list[tuple[str, tuple[int, int], str]]:
    """(code, lines, section title) of each Python block in the skill, and of the Python a
    shell block runs from a here-document (`python3 - <<'PY' … PY`)."""
    found = []
    for b in skill.ir.code_blocks:
        title = b.section_path[-1] if b.section_path else skill.name
        if b.language.lower() in PYTHON_LANGS and b.code.strip():
            found.append((b.code, (b.span.start, b.span.end), title))
        elif b.language.lower() in ("bash", "sh", "shell", ""):
            for match in _HEREDOC.finditer(b.code):
                found.append((match.group(3), (b.span.start, b.span.end), title))
    return found
