"""A compiler model writes the script a prose-only skill lacks (a stronger model compiling
for a weaker one), held to the same verification as every offered script.

The model answers with the script, a command that runs it, and the small input files that
command needs. The script is run on those files in the sandbox; it is kept only if it exits
0 and writes something. A failure goes back to the model with the error, up to
`ATTEMPTS` times; a script that never passes is never offered.
"""

from __future__ import annotations

import re
import shlex

from skvm_core.compile.commandline import parse_command
from skvm_core.compile.executable import ScriptHelp, bundle_files
from skvm_core.compile.manager import PassContext
from skvm_core.compile.script_cli import parse_help
from skvm_core.compile.verify import Verification, run_sync, verify_command
from skvm_core.llm.client import CallOptions
from skvm_core.skill import Skill

ATTEMPTS = 3
SCRIPT_PATH = "scripts/do_task.py"
OPTIONS = CallOptions(temperature=0.0, max_tokens=2048, timeout_s=600)
_FENCE = re.compile(r"```([\w:./-]*)[ \t]*\n(.*?)```", re.DOTALL)
MAX_FILE_CHARS = 4_000

PROMPT = """You turn an agent skill into one Python script, so that a weaker model only has to run it.

Rules for the script:
- Python 3, standard library only. It does the whole job the skill describes.
- Every value that can change from task to task (input and output file names, numbers, names) is a command-line option made with argparse, and its default is the value the skill uses.
- It prints one line saying what it wrote.

Then give a tiny test: the command that runs the script on a small example, and every input file that example needs. Use the same option names in the command as in the script.

Here is a complete answer for another skill ("count the words of notes.txt into count.txt"):

```python
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--input", default="notes.txt")
parser.add_argument("--out", default="count.txt")
args = parser.parse_args()
with open(args.input) as handle:
    words = len(handle.read().split())
with open(args.out, "w") as handle:
    handle.write(f"{{words}}\\n")
print(f"wrote {{args.out}}")
```

```bash
python3 {path} --input notes.txt --out count.txt
```

```file:notes.txt
one two three
four five
```

Answer for the skill below in exactly that shape (the script, then the command, then one file block per input file) and nothing else.

The skill:

{skill}
"""


def _parse(answer: str) -> tuple[str | None, str | None, dict[str, bytes]]:
    script = command = None
    files: dict[str, bytes] = {}
    for label, body in _FENCE.findall(answer):
        label = label.lower()
        if label in ("python", "py", "python3") and script is None:
            script = body
        elif label in ("bash", "sh", "shell") and command is None:
            command = body.strip().splitlines()[0] if body.strip() else None
        elif label.startswith("file:") and len(body) <= MAX_FILE_CHARS:
            files[label.removeprefix("file:").strip()] = body.encode()
    return script, command, files


def write_script(
    skill: Skill, model: str, context: PassContext, problems: list[str] | None = None
) -> ScriptHelp | None:
    """A verified script for the skill's whole job, written by `model`, or None; each failed
    attempt's problem is appended to `problems`."""
    from skvm_core.llm import complete

    messages = [{"role": "user", "content": PROMPT.format(path=SCRIPT_PATH, skill=skill.body)}]
    checks: list[Verification] = []
    for _attempt in range(ATTEMPTS):
        response = run_sync(complete(model, messages, options=OPTIONS))
        context.usage = context.usage + response.usage
        script, command, inputs = _parse(response.text)
        problem, help_check, run_check = _check(skill, script, command, inputs)
        checks += [c for c in (help_check, run_check) if c is not None]
        if problem is None and run_check is not None:
            example = parse_command(command, {SCRIPT_PATH})
            return ScriptHelp(
                script=SCRIPT_PATH,
                runner="python3",
                origin=f"written:{model}",
                text=script,
                interface=parse_help(help_check.output) if help_check else None,
                examples=[example] if example else [],
                checks=[help_check, run_check] if help_check else [run_check],
            )
        if problems is not None:
            problems.append(problem or "no run")
        messages += [
            {"role": "assistant", "content": response.text},
            {
                "role": "user",
                "content": f"That did not work: {problem}. Answer again in the same shape, fixed.",
            },
        ]
    return None


def _check(
    skill: Skill, script: str | None, command: str | None, inputs: dict[str, bytes]
) -> tuple[str | None, Verification | None, Verification | None]:
    if not script:
        return "there was no ```python block with the script", None, None
    if not command or parse_command(command, {SCRIPT_PATH}) is None:
        return (
            f"the ```bash block must be one line that starts with python3 {SCRIPT_PATH}",
            None,
            None,
        )
    try:
        compile(script, SCRIPT_PATH, "exec")
    except SyntaxError as exc:
        return f"the script does not parse: {exc.msg} (line {exc.lineno})", None, None
    layout = {**bundle_files(skill), **inputs, SCRIPT_PATH: script.encode()}
    help_check = verify_command(f"python3 {SCRIPT_PATH} --help", layout, [])
    # The script is laid out last, so anything newer than it was written by the command.
    wrote_something = f"find . -newer {shlex.quote(SCRIPT_PATH)} -type f -size +0 | grep -q ."
    run_check = verify_command(f"{command} && {wrote_something}", layout, [])
    if not run_check.passed:
        return (
            f"running `{command}` on your example files failed ({run_check.evidence}), "
            "or it wrote no file",
            help_check,
            run_check,
        )
    return None, help_check, run_check
