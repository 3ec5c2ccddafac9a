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
    role: str  # "input", "output" or "name"


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


def _help(parameter: Parameter) -> str:
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
    roles = _literal_roles(tree)
    if not any(role in ("input", "output") for role in roles.values()):
        return None
    parameters = _parameters(roles)
    future = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    tree.body = [n for n in tree.body if n not in future]
    body = ast.unparse(
        ast.fix_missing_locations(_Substitute({p.literal: p.dest for p in parameters}).visit(tree))
    )
    arguments = []
    for p in parameters:
        if p.flag is None:
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


def python_examples(skill: Skill) -> list[tuple[str, tuple[int, int], str]]:
    """(code, lines, section title) of each Python block in the skill."""
    return [
        (b.code, (b.span.start, b.span.end), b.section_path[-1] if b.section_path else skill.name)
        for b in skill.ir.code_blocks
        if b.language.lower() in PYTHON_LANGS and b.code.strip()
    ]
