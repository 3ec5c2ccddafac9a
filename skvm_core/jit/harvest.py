"""Candidates: the work of passing runs, generalised into templates.

A passing run's successful actions (commands that did more than look, files written) are
its job. Each value of its task prompt that the job uses becomes a parameter; runs whose
jobs then read the same, step for step, are one template, and their prompts teach the rules
that find each parameter in a new prompt. Runs of any target and of any variant of the
skill count: a template is verified on the target that will use it before it is trusted.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from skvm_core.agent.result import AgentStep
from skvm_core.jit.locate import candidate_values, learn_locators
from skvm_core.jit.model import Param, Step, Template
from skvm_core.jit.substitute import Slot, substitute_python, substitute_shell
from skvm_core.skill import Skill
from skvm_core.store.workspace import Workspace

# Commands that only look: they are how a model finds its way, not part of the job.
_LOOKING = frozenset(
    (
        "ls",
        "cat",
        "head",
        "tail",
        "wc",
        "pwd",
        "echo",
        "find",
        "grep",
        "file",
        "stat",
        "tree",
        "which",
        "type",
        "less",
        "more",
        "du",
        "df",
        "printf",
        "true",
        "sort",
        "uniq",
        "cut",
        "jq",
        "column",
    )
)
_OUTPUT_BEFORE = re.compile(r"(?:--out|--output|--dest|--to|-o|>>?)\s*=?\s*\"?$")
_SEGMENT = re.compile(r"&&|\|\||;|\n|\|")


@dataclass(frozen=True)
class PassingRun:
    run_id: str
    skill: str
    prompt: str
    steps: list[AgentStep]


def job_steps(steps: list[AgentStep]) -> list[Step]:
    """The actions that did the work, in order; a file written twice keeps its last content."""
    job: list[Step] = []
    for agent_step in steps:
        for tool in agent_step.tools:
            if not tool.ok or tool.call.arguments_error:
                continue
            args = tool.call.arguments
            if tool.call.name == "execute_command" and tool.exit_code in (0, None):
                command = str(args.get("command", "")).strip()
                if command and not _only_looks(command):
                    job.append(Step(kind="command", text=command))
            elif tool.call.name == "write_file" and isinstance(args.get("path"), str):
                path = args["path"]
                job = [s for s in job if not (s.kind == "write_file" and s.path == path)]
                job.append(Step(kind="write_file", text=str(args.get("content", "")), path=path))
    return job


def _only_looks(command: str) -> bool:
    if ">" in command.replace("2>&1", "").replace("2>/dev/null", ""):
        return False
    for segment in _SEGMENT.split(command):
        words = segment.strip().split()
        if words and words[0] not in _LOOKING:
            return False
    return True


def generalise(run: PassingRun, skill: Skill | None) -> Template | None:
    """One run's job with its prompt's values as parameters (None: nothing to do)."""
    steps = job_steps(run.steps)
    if not steps:
        return None
    texts = "\n".join(s.text + "\n" + s.path for s in steps)
    used_values = [t for t in candidate_values(run.prompt) if t.text in texts]
    params: list[Param] = []
    slots: list[Slot] = []
    counters: dict[str, int] = {}
    for token in used_values:
        kind = _kind(token.kind, token.text)
        prefix = {"file": "file", "number": "num", "word": "word"}[token.kind]
        counters[prefix] = counters.get(prefix, 0) + 1
        name = f"{prefix}_{counters[prefix]}"
        param = Param(name=name, kind=kind, examples=[token.text])
        params.append(param)
        numeric = {"integer": "int", "number": "float"}.get(kind)
        slots.append(Slot(token.text, param.env, embeddable=kind != "text", numeric=numeric))
    templated, used = _templated_steps(steps, slots)
    params = [p for p in params if p.env in used]
    for param in params:
        if param.kind == "input_file" and _written(templated, param.env):
            param.kind = "output_file"
    bundle = sorted(
        f.path for f in (skill.files if skill else []) if any(f.path in s.text for s in steps)
    )
    return _renumbered(
        Template(
            skill=run.skill,
            steps=templated,
            params=params,
            source="traces",
            origins=[run.run_id],
            prompts=[run.prompt],
            bundle=bundle,
        )
    )


def _kind(token_kind: str, text: str) -> str:
    if token_kind == "file":
        return "input_file"
    if token_kind == "number":
        return "number" if "." in text else "integer"
    return "word"


def _templated_steps(steps: list[Step], slots: list[Slot]) -> tuple[list[Step], set[str]]:
    used: set[str] = set()
    out = []
    for step in steps:
        if step.kind == "command":
            text, found = substitute_shell(step.text, slots)
            path = ""
        else:
            text, found = (
                substitute_python(step.text, slots)
                if step.path.endswith(".py")
                else (step.text, set())
            )
            path_slot = next((s for s in slots if s.value == step.path), None)
            path = f"${path_slot.env}" if path_slot else step.path
            if path_slot:
                found = found | {path_slot.env}
        used |= found
        out.append(Step(kind=step.kind, text=text, path=path))
    return out, used


def _written(steps: list[Step], env: str) -> bool:
    for step in steps:
        if step.kind == "write_file" and step.path == f"${env}":
            return True
        reference = f'"${{{env}}}"'
        at = step.text.find(reference)
        while at >= 0:
            if _OUTPUT_BEFORE.search(step.text[:at] + '"'):
                return True
            at = step.text.find(reference, at + 1)
    return False


def _renumbered(template: Template) -> Template:
    """Parameter names in order of first use, so two runs of one job name them alike."""
    joined = "\n".join(s.path + "\n" + s.text for s in template.steps)
    order = sorted(template.params, key=lambda p: joined.find(p.env))
    renames = {}
    counters: dict[str, int] = {}
    for param in order:
        prefix = param.kind
        counters[prefix] = counters.get(prefix, 0) + 1
        renames[param.name] = f"{prefix}_{counters[prefix]}"
    temporary = {p.env: f"\x00{renames[p.name]}\x00" for p in order}
    steps = []
    for step in template.steps:
        text, path = step.text, step.path
        for env, marker in temporary.items():
            text, path = text.replace(env, marker), path.replace(env, marker)
        for marker in temporary.values():
            final = "SKVM_P_" + marker.strip("\x00").upper()
            text, path = text.replace(marker, final), path.replace(marker, final)
        steps.append(step.model_copy(update={"text": text, "path": path}))
    params = [p.model_copy(update={"name": renames[p.name]}) for p in order]
    return template.model_copy(update={"steps": steps, "params": params})


def merge(templates: list[Template]) -> list[Template]:
    """Runs whose jobs read the same become one template; its rules are those that find
    every run's values in that run's prompt."""
    groups: dict[str, list[Template]] = {}
    for template in templates:
        groups.setdefault(template.id, []).append(template)
    merged = []
    for group in groups.values():
        first = group[0]
        params = []
        for index, param in enumerate(first.params):
            examples = [t.params[index].examples[0] for t in group]
            pairs = [(t.prompts[0], t.params[index].examples[0]) for t in group]
            params.append(
                param.model_copy(
                    update={
                        "examples": examples,  # one per prompt, in order
                        "locators": learn_locators(pairs, param.kind),
                        "choices_from_prompt": param.kind == "word",
                    }
                )
            )
        merged.append(
            first.model_copy(
                update={
                    "params": params,
                    "origins": [o for t in group for o in t.origins],
                    "prompts": [p for t in group for p in t.prompts],
                }
            )
        )
    # Most evidence first.
    return sorted(merged, key=lambda t: -len(t.origins))


def passing_runs(
    workspace: Workspace, skill_name: str, skip: set[str]
) -> tuple[list[PassingRun], list[str]]:
    """Every stored run not in `skip` that passed with a skill of this name (any target,
    any variant), and the ids of every finished run read (so none is read twice)."""
    from skvm_core.run.runner import TaskRun

    found = []
    read: list[str] = []
    runs = workspace.runs
    for result_file in sorted(runs.glob("*/result.json")) if runs.is_dir() else []:
        run_id = result_file.parent.name
        if run_id in skip:
            continue
        read.append(run_id)
        try:
            outcome = TaskRun.model_validate_json(result_file.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not outcome.score.passed or outcome.run.status != "ok":
            continue
        if outcome.run.extra.get("solidified", {}).get("outcome") == "template":
            continue  # a template's own run teaches nothing new
        started = _run_started(outcome.run.trace_path)
        if started is None or started.get("skill") != skill_name:
            continue
        found.append(PassingRun(run_id, skill_name, started.get("prompt", ""), outcome.run.steps))
    return found, read


def _run_started(trace: Path | None) -> dict | None:
    if trace is None or not trace.is_file():
        return None
    try:
        with trace.open(encoding="utf-8") as handle:
            first = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    return first if first.get("type") == "run_started" else None


def compiler_candidates(skill: Skill) -> list[Template]:
    """The skill's scripts whose example the compiler ran and verified, one template per
    call shape their `--help` offers (filled with the example's values, which become the
    parameters); found by generic rules or by the model, then verified like any other."""
    from skvm_core.compile.commandline import parse_command
    from skvm_core.compile.executable import script_help
    from skvm_core.compile.lower import filled_forms

    templates: dict[str, Template] = {}
    for helped in script_help(skill):
        if not helped.example_passed:
            continue
        for example in helped.examples:
            for text in filled_forms(helped, example):
                form = parse_command(text, {helped.script})
                template = form and _from_example(skill, form, helped.text, helped.script)
                if template is not None:
                    templates.setdefault(template.id, template)
    return list(templates.values())


def _from_example(skill: Skill, example, script_text: str | None, script: str) -> Template | None:
    values: list[tuple[str, str]] = [(v, "input_file") for v in example.inputs]
    values += [(v, "output_file") for v in example.outputs]
    for value in example.option_values().values():
        if value in example.inputs or value in example.outputs:
            continue
        kind = "integer" if value.lstrip("-").isdigit() else "word"
        values.append((value, kind))
    params, slots = [], []
    for index, (value, kind) in enumerate(values, start=1):
        param = Param(name=f"p_{index}", kind=kind, examples=[value])
        if kind.endswith("file"):
            suffix = Path(value).suffix.lower()
            param.locators = [f"folder:{suffix}"] if kind == "input_file" else [f"new:{suffix}"]
        param.choices_from_prompt = kind == "word"
        params.append(param)
        numeric = "int" if kind == "integer" else None
        slots.append(Slot(value, param.env, embeddable=True, numeric=numeric))
    text, used = substitute_shell(example.text, slots)
    params = [p for p in params if p.env in used]
    if not params:
        return None
    mkdir = _output_dirs(params)
    steps = [Step(kind="command", text=mkdir + text)]
    files = [f.path for f in skill.files if f.path == script]
    if script_text is not None:
        steps.insert(0, Step(kind="write_file", text=script_text, path=script))
    return _renumbered(
        Template(
            skill=skill.name,
            steps=steps,
            params=params,
            source="compiler",
            origins=[f"compiler:{script}"],
            bundle=files,
        )
    )


def _output_dirs(params: list[Param]) -> str:
    outputs = [p for p in params if p.kind == "output_file" and "/" in p.examples[0]]
    if not outputs:
        return ""
    return " && ".join(f'mkdir -p "$(dirname "${{{p.env}}}")"' for p in outputs) + " && "


def quoted_preview(template: Template, values: dict[str, str]) -> str:
    """The job as it will run with these values (for people; the run uses the variables)."""
    lines = [f"{p.env}={shlex.quote(values.get(p.name, ''))}" for p in template.params]
    for step in template.steps:
        lines.append(step.text if step.kind == "command" else f"# write {step.path}")
    return "\n".join(lines)
