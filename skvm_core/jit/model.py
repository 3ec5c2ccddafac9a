"""Solidification artifacts: templates with typed parameters, their trials, and the state
of every template of one skill on one target."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, Field

# A parameter reaches the template's commands as an environment variable with this prefix
# (quoted where the shell reads it, `os.environ` where Python does), never as shell text.
ENV_PREFIX = "SKVM_P_"
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

ParamKind = Literal["input_file", "output_file", "integer", "number", "word", "text"]
Status = Literal["candidate", "shadow", "promoted", "demoted"]
Source = Literal["traces", "compiler", "llm"]

# What a value of each kind must look like. Values never reach shell text, so these are
# about a value being the right thing, not about quoting.
KIND_PATTERNS: dict[str, str] = {
    "input_file": r"^(?!/)(?!.*\.\.)[\w.\-/ ]{1,200}$",
    "output_file": r"^(?!/)(?!.*\.\.)[\w.\-/ ]{1,200}$",
    "integer": r"^-?\d{1,12}$",
    "number": r"^-?\d{1,15}(\.\d{1,15})?$",
    "word": r"^[\w.\-]{1,80}$",
    "text": r"^[^\x00]{0,2000}$",
}


class Param(BaseModel):
    name: str = Field(pattern=PARAM_NAME.pattern)
    kind: ParamKind
    pattern: str = ""  # empty: the kind's own pattern
    examples: list[str] = Field(default_factory=list)  # values in the runs it came from
    # Rules that found every example in its task's prompt or folder (see jit/locate.py).
    locators: list[str] = Field(default_factory=list)
    # Values the model may choose from when the rules find none (empty: any of the kind).
    choices_from_prompt: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def value_pattern(self) -> re.Pattern[str]:
        return re.compile(self.pattern or KIND_PATTERNS[self.kind])


class Step(BaseModel):
    """One action of the job: a command, or a file written with fixed content."""

    kind: Literal["command", "write_file"]
    text: str  # the command (parameters as variable references), or the file's content
    path: str = ""  # write_file: where


class Template(BaseModel):
    skill: str
    steps: list[Step]
    params: list[Param]
    source: Source
    origins: list[str] = Field(default_factory=list)  # run ids (or the compiler's script)
    prompts: list[str] = Field(default_factory=list)  # the tasks it was made from
    # Bundle files the steps need, laid into the work folder before they run.
    bundle: list[str] = Field(default_factory=list)
    timeout_s: float = 60.0

    @property
    def id(self) -> str:
        shape = json.dumps(
            [[s.kind, s.path, s.text] for s in self.steps]
            + [[p.name, p.kind] for p in self.params],
            sort_keys=True,
        )
        return hashlib.sha256(shape.encode()).hexdigest()[:12]


class Trial(BaseModel):
    """One use of a template: in the shadow of the model path, or in its place."""

    run_id: str
    task_id: str
    prompt: str = ""  # with `bound`, evidence for the rules that find each value
    mode: Literal["shadow", "promoted"]
    ok: bool
    reason: str = ""
    bound: dict[str, str] = Field(default_factory=dict)
    bound_by: dict[str, str] = Field(default_factory=dict)  # param → rule or "model"
    duration_ms: float = 0.0
    outputs: list[str] = Field(default_factory=list)
    at: float = 0.0


class TemplateRecord(BaseModel):
    template: Template
    status: Status = "candidate"
    trials: list[Trial] = Field(default_factory=list)
    failures_in_a_row: int = 0
    note: str = ""  # why the status last changed

    @property
    def shadow_passes(self) -> int:
        return sum(1 for t in self.trials if t.mode == "shadow" and t.ok)


class JitState(BaseModel):
    """Every template of one skill on one target (`skvm jit` reads and edits this)."""

    skill: str
    target: str
    templates: dict[str, TemplateRecord] = Field(default_factory=dict)
    harvested: list[str] = Field(default_factory=list)  # finished runs already read, passing or not
    compiler_harvested: bool = False

    def live(self, *statuses: Status) -> list[TemplateRecord]:
        return [r for r in self.templates.values() if r.status in statuses]
