"""Environment binding: find what a skill needs and write an idempotent `env-setup.sh`.

Found statically: Python imports in code blocks and bundled scripts (stdlib filtered out
with `sys.stdlib_module_names`, import names mapped to distributions), command-line tools
named in shell blocks, and requirement files in the bundle. The script is never run on
the host at compile time; `--simulate` runs it in the sandbox.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from typing import Literal

from pydantic import BaseModel, Field

from skvm_core.compile.analyze import python_imports
from skvm_core.skill import Skill

# Import name → PyPI distribution, where they differ or are ambiguous.
IMPORT_TO_DIST = {
    "yaml": "PyYAML", "bs4": "beautifulsoup4", "PIL": "Pillow", "sklearn": "scikit-learn", "cv2": "opencv-python",
    "dateutil": "python-dateutil", "docx": "python-docx", "pptx": "python-pptx", "fitz": "PyMuPDF", "dotenv": "python-dotenv",
    "jwt": "PyJWT", "Crypto": "pycryptodome", "serial": "pyserial", "usb": "pyusb", "magic": "python-magic", "attr": "attrs",
    "google": "google-api-python-client", "skimage": "scikit-image", "mpl_toolkits": "matplotlib",
}  # fmt: skip
# Command → Debian package providing it.
TOOL_TO_DEBIAN = {
    "jq": "jq", "ffmpeg": "ffmpeg", "ffprobe": "ffmpeg", "sqlite3": "sqlite3", "convert": "imagemagick", "magick": "imagemagick",
    "pdftotext": "poppler-utils", "pdftoppm": "poppler-utils", "node": "nodejs", "npm": "npm", "rg": "ripgrep", "curl": "curl",
    "wget": "wget", "git": "git", "pandoc": "pandoc", "zip": "zip", "unzip": "unzip", "xmllint": "libxml2-utils", "csvtool": "csvtool",
    "tesseract": "tesseract-ocr", "libreoffice": "libreoffice", "yq": "yq", "gh": "gh", "psql": "postgresql-client", "redis-cli": "redis-tools",
}  # fmt: skip
# Always present on a POSIX host with coreutils; never listed.
BASE_COMMANDS = {
    "cd", "ls", "cat", "echo", "printf", "grep", "egrep", "sed", "awk", "sort", "uniq", "head", "tail", "wc", "cut", "tr", "mkdir", "rm", "cp", "mv",
    "touch", "find", "xargs", "test", "true", "false", "set", "export", "for", "do", "done", "while", "if", "then", "fi", "else", "python3", "python",
    "bash", "sh", "env", "tee", "basename", "dirname", "date", "sleep", "read", "chmod", "pwd", "diff", "seq", "[", "exit", "return", "local",
}  # fmt: skip
SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh"}


class Dependency(BaseModel):
    name: str  # distribution or package name
    kind: Literal["python", "tool", "node"]
    check: str  # import name or command name
    source: str  # where it was found


class EnvBinding(BaseModel):
    dependencies: list[Dependency] = Field(default_factory=list)
    script: str

    def of_kind(self, kind: str) -> list[Dependency]:
        return [d for d in self.dependencies if d.kind == kind]


def commands_in_shell(code: str) -> set[str]:
    """First word of every simple command in a shell snippet (pipelines, lists, $(...))."""
    names: set[str] = set()
    for raw in code.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("$ "):
            line = line[2:]
        for part in re.split(r"\|\||&&|[|;]|\$\(|`", line):
            words = part.strip().split()
            while words and ("=" in words[0] and not words[0].startswith("=")):
                words = words[1:]  # VAR=value prefixes
            if words and re.match(r"^[A-Za-z][\w.+-]*$", words[0]):
                names.add(words[0])
    return names


def find_dependencies(skill: Skill) -> list[Dependency]:
    found: dict[tuple[str, str], Dependency] = {}

    def add(dep: Dependency) -> None:
        found.setdefault((dep.kind, dep.name.lower()), dep)

    def python_from(code: str, source: str) -> None:
        for module in sorted(python_imports(code)):
            if module in sys.stdlib_module_names or module.startswith("_"):
                continue
            if any(
                f.path in (f"{module}.py", f"{module}/__init__.py")
                or f.path.endswith(f"/{module}.py")
                for f in skill.files
            ):
                continue  # a module bundled with the skill
            add(
                Dependency(
                    name=IMPORT_TO_DIST.get(module, module),
                    kind="python",
                    check=module,
                    source=source,
                )
            )

    for block in skill.ir.code_blocks:
        where = f"SKILL.md:{block.span}"
        if block.language in ("python", "py", "python3"):
            python_from(block.code, where)
        elif block.language in SHELL_LANGS:
            for command in sorted(commands_in_shell(block.code) - BASE_COMMANDS):
                if command in TOOL_TO_DEBIAN:
                    add(
                        Dependency(
                            name=TOOL_TO_DEBIAN[command], kind="tool", check=command, source=where
                        )
                    )
            for match in re.finditer(r"pip3?\s+install\s+([^\n;&|]+)", block.code):
                for name in match.group(1).split():
                    if not name.startswith("-"):
                        add(
                            Dependency(
                                name=name,
                                kind="python",
                                check=re.split(r"[<>=\[]", name)[0].replace("-", "_"),
                                source=where,
                            )
                        )
    for bundle_file in skill.files:
        if not bundle_file.is_text:
            continue
        path = skill.root / bundle_file.path
        if bundle_file.path.endswith(".py"):
            python_from(path.read_text("utf-8", errors="replace"), bundle_file.path)
        elif bundle_file.path.endswith(".sh"):
            for command in sorted(
                commands_in_shell(path.read_text("utf-8", errors="replace")) - BASE_COMMANDS
            ):
                if command in TOOL_TO_DEBIAN:
                    add(
                        Dependency(
                            name=TOOL_TO_DEBIAN[command],
                            kind="tool",
                            check=command,
                            source=bundle_file.path,
                        )
                    )
        elif bundle_file.path.rsplit("/", 1)[-1] == "requirements.txt":
            for line in path.read_text("utf-8", errors="replace").splitlines():
                spec = line.split("#", 1)[0].strip()
                if spec and not spec.startswith("-"):
                    name = re.split(r"[<>=!~\[; ]", spec)[0]
                    add(
                        Dependency(
                            name=spec,
                            kind="python",
                            check=name.replace("-", "_").lower(),
                            source=bundle_file.path,
                        )
                    )
        elif bundle_file.path.rsplit("/", 1)[-1] == "package.json":
            try:
                data = json.loads(path.read_text("utf-8"))
            except json.JSONDecodeError:
                continue
            for name in sorted(
                (data.get("dependencies") or {}) | (data.get("devDependencies") or {})
            ):
                add(Dependency(name=name, kind="node", check=name, source=bundle_file.path))
    return sorted(found.values(), key=lambda d: (d.kind, d.name.lower()))


def render_script(skill_name: str, dependencies: list[Dependency]) -> str:
    """Idempotent: checks before installing, so a second run changes nothing."""
    lines = [
        "#!/usr/bin/env bash",
        f"# Environment for the skill {shlex.quote(skill_name)}; generated by skvm compile.",
        "# Safe to run more than once: each step checks first and installs only what is missing.",
        "set -u",
        "missing=0",
        "",
    ]
    for dep in dependencies:
        if dep.kind == "python":
            lines += [
                f"if python3 -c {shlex.quote(f'import {dep.check}')} >/dev/null 2>&1; then",
                f"  echo {shlex.quote(f'ok: python module {dep.check}')}",
                f"elif python3 -m pip install --user --quiet {shlex.quote(dep.name)} >/dev/null 2>&1; then",
                f"  echo {shlex.quote(f'installed: {dep.name}')}",
                "else",
                f"  echo {shlex.quote(f'missing: python package {dep.name}')} >&2; missing=1",
                "fi",
            ]
        elif dep.kind == "tool":
            lines += [
                f"if command -v {shlex.quote(dep.check)} >/dev/null 2>&1; then",
                f"  echo {shlex.quote(f'ok: {dep.check}')}",
                f'elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get install -y -qq {shlex.quote(dep.name)} >/dev/null 2>&1; then',
                f"  echo {shlex.quote(f'installed: {dep.name}')}",
                "else",
                f"  echo {shlex.quote(f'missing: {dep.check} (Debian package {dep.name})')} >&2; missing=1",
                "fi",
            ]
        else:
            lines += [
                f"if [ -d node_modules/{shlex.quote(dep.check)} ]; then",
                f"  echo {shlex.quote(f'ok: npm package {dep.name}')}",
                f"elif command -v npm >/dev/null 2>&1 && npm install --silent {shlex.quote(dep.name)} >/dev/null 2>&1; then",
                f"  echo {shlex.quote(f'installed: {dep.name}')}",
                "else",
                f"  echo {shlex.quote(f'missing: npm package {dep.name}')} >&2; missing=1",
                "fi",
            ]
    lines += ["", 'exit "$missing"', ""]
    return "\n".join(lines)


def bind_environment(skill: Skill) -> EnvBinding:
    dependencies = find_dependencies(skill)
    return EnvBinding(dependencies=dependencies, script=render_script(skill.name, dependencies))
