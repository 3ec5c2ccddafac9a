"""Bind a template's parameters for a new task: rules first, then the target model with its
output held to the parameters' JSON schema; every value is checked before it is used."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, Field

from skvm_core.agent.tools import ToolError, confine
from skvm_core.errors import SkvmError
from skvm_core.jit.harvest import quoted_preview
from skvm_core.jit.locate import apply_locator, candidate_values, tokens
from skvm_core.jit.model import Param, Template
from skvm_core.llm.types import Usage

MAX_LISTED_FILES = 40
HEAD_BYTES = 400  # how much of each file is read for the names it uses


class Binding(BaseModel):
    values: dict[str, str] = Field(default_factory=dict)
    by: dict[str, str] = Field(default_factory=dict)  # param → the rule, or "model"
    problem: str = ""  # why the template cannot run on this task
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0  # None when the model's price is unknown
    model_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problem


def bind_by_rules(template: Template, prompt: str, folder: Path) -> Binding:
    """Values every applicable rule agrees on; a parameter whose rules disagree or find
    nothing is left for the model."""
    binding = Binding()
    for param in template.params:
        found = {}
        for rule in param.locators:
            value = apply_locator(rule, prompt, folder)
            if value is not None:
                found[rule] = value
        if len(set(found.values())) == 1:
            binding.values[param.name] = next(iter(found.values()))
            binding.by[param.name] = next(iter(found))
    return binding


def distinct_pairs(template: Template) -> list[tuple[str, str]]:
    """Parameters of one kind that had different values in every run the template came
    from (a group column and a value column): binding both to one value is a mistake the
    binding can see, and it must not be charged to the template."""
    pairs = []
    params = template.params
    for index, first in enumerate(params):
        for second in params[index + 1 :]:
            shared = min(len(first.examples), len(second.examples))
            if (
                first.kind == second.kind
                and shared
                and all(first.examples[i] != second.examples[i] for i in range(shared))
            ):
                pairs.append((first.name, second.name))
    return pairs


def _taken(template: Template, binding: Binding, name: str) -> set[str]:
    """Values already bound to parameters that `name` always differed from."""
    return {
        binding.values[other]
        for pair in distinct_pairs(template)
        if name in pair
        for other in pair
        if other != name and other in binding.values
    }


async def bind(template: Template, prompt: str, folder: Path, model: str | None) -> Binding:
    binding = bind_by_rules(template, prompt, folder)
    missing = [p for p in template.params if p.name not in binding.values]
    if missing and model is not None:
        try:
            excluded = {p.name: _taken(template, binding, p.name) for p in missing}
            await _bind_by_model(binding, template, missing, prompt, folder, model, excluded)
        except SkvmError as exc:
            binding.problem = (
                f"the model could not fill {', '.join(p.name for p in missing)}: {exc}"
            )
            return binding
    missing = [p.name for p in template.params if p.name not in binding.values]
    if missing:
        binding.problem = f"no value found for {', '.join(missing)}"
        return binding
    for param in template.params:
        problem = check_value(param, binding.values[param.name], folder)
        if problem:
            binding.problem = f"{param.name}={binding.values[param.name]!r}: {problem}"
            return binding
    for first, second in distinct_pairs(template):
        if binding.values[first] == binding.values[second]:
            binding.problem = (
                f"{first} and {second} were both bound to {binding.values[first]!r}; they "
                "differed in every run the template came from"
            )
            break
    return binding


def check_value(param: Param, value: str, folder: Path) -> str:
    """Why `value` cannot be this parameter ("" when it can)."""
    if not param.value_pattern().fullmatch(value):
        return f"does not look like a {param.kind.replace('_', ' ')}"
    if param.kind in ("input_file", "output_file"):
        try:
            path = confine(folder, value)
        except ToolError as exc:
            return str(exc)
        if param.kind == "input_file" and (not path.is_file() or path.is_symlink()):
            return "no such file in the work folder"
    return ""


def folder_files(folder: Path) -> list[str]:
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink():
            files.append(relative.as_posix())
        if len(files) >= MAX_LISTED_FILES:
            break
    return files


def value_schema(
    params: list[Param], prompt: str, folder: Path, excluded: dict[str, set[str]] | None = None
) -> dict:
    """The JSON schema the model's answer is decoded under: files from the folder, words
    from the prompt where the runs took them from there, without the values `excluded`
    names per parameter (those bound to a parameter it always differed from)."""
    excluded = excluded or {}
    files = folder_files(folder)
    words = [t.text for t in candidate_values(prompt) if t.kind == "word"]
    # Words the task's own files use near their top (column names, keys) are the likelier
    # values; the rest of the prompt's words stay out when any of them qualify. A common
    # word ("total", "count") counts here too when a file names it: then it is a column.
    heads = file_heads(folder, files)
    first_lines = "\n".join(
        file_heads(folder, [name]).split("\n", 1)[0] for name in files[:MAX_LISTED_FILES]
    )

    def names(word: str, text: str) -> bool:
        return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None

    every = list(dict.fromkeys(t.text for t in tokens(prompt) if t.kind == "word"))
    named = [
        w
        for w in every
        if (w in words and names(w, heads)) or (len(w) >= 3 and names(w, first_lines))
    ]
    words = named or words
    properties = {}
    for param in params:
        if param.kind == "integer":
            properties[param.name] = {"type": "integer"}
        elif param.kind == "number":
            properties[param.name] = {"type": "number"}
        elif param.kind == "input_file" and _allowed(files, excluded.get(param.name)):
            properties[param.name] = {
                "type": "string",
                "enum": _allowed(files, excluded.get(param.name)),
            }
        elif (
            param.kind == "word"
            and param.choices_from_prompt
            and _allowed(words, excluded.get(param.name))
        ):
            properties[param.name] = {
                "type": "string",
                "enum": _allowed(words, excluded.get(param.name)),
            }
        else:
            properties[param.name] = {"type": "string"}
    return {"type": "object", "properties": properties, "required": [p.name for p in params]}


def _allowed(values: list[str], excluded: set[str] | None) -> list[str]:
    return [v for v in values if v not in (excluded or set())]


def file_heads(folder: Path, files: list[str]) -> str:
    heads = []
    for name in files[:MAX_LISTED_FILES]:
        try:
            with (folder / name).open("rb") as handle:
                heads.append(handle.read(HEAD_BYTES).decode("utf-8", "replace"))
        except OSError:
            continue
    return "\n".join(heads)


def binding_prompt(template: Template, missing: list[Param], prompt: str, folder: Path) -> str:
    examples = []
    for index, origin_prompt in enumerate(template.prompts[:3]):
        shown = {p.name: p.examples[min(index, len(p.examples) - 1)] for p in missing if p.examples}
        examples.append(f"Task: {origin_prompt}\nValues: {json.dumps(shown)}")
    if not examples:
        shown = {p.name: p.examples[0] for p in missing if p.examples}
        examples.append(f"Values in the skill's own example: {json.dumps(shown)}")
    files = "\n".join(f"- {name}" for name in folder_files(folder)) or "(none)"
    return (
        "These commands do the job a task asks for, once their values are filled in:\n\n"
        f"{quoted_preview(template, {})}\n\n"
        + "\n\n".join(examples)
        + f"\n\nFiles in the work folder:\n{files}\n\nTask: {prompt}\n"
        "Values for this task, as one JSON object:"
    )


async def _bind_by_model(
    binding: Binding,
    template: Template,
    missing: list[Param],
    prompt: str,
    folder: Path,
    model: str,
    excluded: dict[str, set[str]] | None = None,
) -> None:
    from skvm_core.llm import CallOptions, complete
    from skvm_core.llm.client import price_of
    from skvm_core.llm.grammar import JSON_RULES, Grammar, arguments_node
    from skvm_core.llm.types import Decoding

    schema = value_schema(missing, prompt, folder, excluded)
    grammar = Grammar(arguments_node(schema, "values"), dict(JSON_RULES))
    messages = [
        {"role": "system", "content": "Answer with one JSON object and nothing else."},
        {"role": "user", "content": binding_prompt(template, missing, prompt, folder)},
    ]
    options = CallOptions(
        max_tokens=200, temperature=0.0, decoding=Decoding(grammar=grammar.gbnf()), max_retries=1
    )
    response = await complete(model, messages, options=options)
    binding.usage = response.usage
    binding.cost_usd = price_of(model, response.usage)
    binding.model_ms = response.latency_ms
    text = response.text.strip()
    start, end = text.find("{"), text.rfind("}")
    try:
        answer = json.loads(text[start : end + 1]) if start >= 0 else None
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise SkvmError(f"the answer was not a JSON object: {text[:120]!r}")
    for param in missing:
        value = answer.get(param.name)
        if value is None or isinstance(value, (dict, list)):
            continue
        binding.values[param.name] = str(value)
        binding.by[param.name] = "model"
