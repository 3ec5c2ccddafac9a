"""The prompts a trigger eval asks: should the skill be loaded for this request or not.

In order of precedence a skill's set is authored (`triggers.json` where its tasks are, or
`--prompts FILE`), imported (skill-creator's trigger eval set, a JSON list of
`{"query", "should_trigger"}`, in the skill's `evals/`), or synthesised from what is already
there: its own task prompts and description say when it should load; the tasks and
descriptions of the other skills beside it say when it should not. Every prompt records
where it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from skvm_core.errors import SkvmError
from skvm_core.skill import Skill
from skvm_core.store.workspace import Workspace

TRIGGERS_FILE = "triggers.json"
AUTHORED_HINT = (
    'write {"should_trigger": ["a request the skill is for", ...], '
    '"should_not_trigger": ["a request it is not for", ...]} '
    '(or skill-creator\'s list of {"query": ..., "should_trigger": true|false})'
)
# A synthesised negative set about as large as the positive one, never tiny.
MIN_NEGATIVES = 3


class TriggerFile(BaseModel):
    """The authored format (`triggers.json`)."""

    model_config = ConfigDict(extra="forbid")

    skill: str | None = None  # required where several skills share the folder
    should_trigger: list[str] = Field(default_factory=list)
    should_not_trigger: list[str] = Field(default_factory=list)

    @field_validator("should_trigger", "should_not_trigger")
    @classmethod
    def _not_blank(cls, prompts: list[str]) -> list[str]:
        if any(not p.strip() for p in prompts):
            raise ValueError("a prompt is empty")
        return [p.strip() for p in prompts]


class ImportedQuery(BaseModel):
    """One entry of skill-creator's trigger eval set."""

    query: str = Field(min_length=1)
    should_trigger: bool


class TriggerPrompt(BaseModel):
    id: str
    text: str
    should_trigger: bool
    source: (
        str  # "authored:<file>", "imported:<file>", "task:<id>", "description", "other:<skill>/…"
    )


class PromptSet(BaseModel):
    origin: Literal["authored", "imported", "synthesised"]
    path: str | None = None
    prompts: list[TriggerPrompt]

    def of_kind(self, should_trigger: bool) -> list[TriggerPrompt]:
        return [p for p in self.prompts if p.should_trigger == should_trigger]


def prompt_id(text: str, should_trigger: bool) -> str:
    kind = "t" if should_trigger else "n"
    return f"{kind}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:10]}"


def _prompt(text: str, should_trigger: bool, source: str) -> TriggerPrompt:
    return TriggerPrompt(
        id=prompt_id(text, should_trigger), text=text, should_trigger=should_trigger, source=source
    )


def _unique(prompts: list[TriggerPrompt]) -> list[TriggerPrompt]:
    seen: dict[str, TriggerPrompt] = {}
    for prompt in prompts:
        seen.setdefault(prompt.id, prompt)
    return list(seen.values())


# --- authored and imported files --------------------------------------------------------


def read_prompt_file(path: Path, skill: Skill | None = None) -> PromptSet:
    """A prompts file in either format (an object: authored; a list: skill-creator's)."""
    where = str(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise SkvmError(f"no prompts file {where}", hint=AUTHORED_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SkvmError(f"cannot read {where}: {exc}", hint=AUTHORED_HINT) from None
    except json.JSONDecodeError as exc:
        raise SkvmError(f"{where} is not valid JSON: {exc}", hint=AUTHORED_HINT) from None
    try:
        if isinstance(data, list):
            queries = [ImportedQuery.model_validate(item) for item in data]
            prompts = [
                _prompt(q.query.strip(), q.should_trigger, f"imported:{where}") for q in queries
            ]
            origin = "imported"
        elif isinstance(data, dict):
            authored = TriggerFile.model_validate(data)
            if skill is not None and authored.skill not in (None, skill.name):
                raise SkvmError(
                    f"{where} is for the skill {authored.skill!r}, not {skill.name!r}",
                    hint="give the prompts file of this skill",
                )
            prompts = [_prompt(t, True, f"authored:{where}") for t in authored.should_trigger]
            prompts += [_prompt(t, False, f"authored:{where}") for t in authored.should_not_trigger]
            origin = "authored"
        else:
            raise SkvmError(f"{where} holds a {type(data).__name__}", hint=AUTHORED_HINT)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(part) for part in first["loc"])
        raise SkvmError(f"{where}: {at}: {first['msg']}", hint=AUTHORED_HINT) from None
    prompts = _unique(prompts)
    if not prompts:
        raise SkvmError(f"{where} holds no prompts", hint=AUTHORED_HINT)
    return PromptSet(origin=origin, path=where, prompts=prompts)


def authored_file(skill: Skill, workspace: Workspace) -> Path | None:
    """`triggers.json` (or `triggers/<skill>.json`) where the skill's tasks are looked for;
    a file in a folder several skills share counts only when it names this skill."""
    from skvm_core.run.authoring import task_roots

    for root in task_roots(skill, workspace):
        own = root / "triggers" / f"{skill.name}.json"
        if own.is_file():
            return own
        shared = root / TRIGGERS_FILE
        if not shared.is_file():
            continue
        if root != skill.root.parent / "tasks":
            return shared
        try:
            named = json.loads(shared.read_text("utf-8")).get("skill")
        except (OSError, ValueError, AttributeError):
            return shared  # let the reader say what is wrong with it
        if named == skill.name:
            return shared
    return None


def imported_file(skill: Skill) -> Path | None:
    """skill-creator's trigger eval set inside the skill (`evals/*trigger*.json`,
    `evals/eval_set*.json`); `evals/evals.json` holds tasks, not triggers."""
    folder = skill.root / "evals"
    if not folder.is_dir():
        return None
    found = sorted({*folder.glob("*trigger*.json"), *folder.glob("eval_set*.json")})
    return next((p for p in found if p.is_file()), None)


# --- synthesised ------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WHEN = re.compile(
    r"^use (?:this skill )?(?:when|whenever|if) (?:the user |a user |someone |you are )?"
    r"(?:is )?asked (to|for|about|which|how|what|whether|where) (.+?)[.!]?$",
    re.IGNORECASE,
)


def description_requests(description: str) -> list[str]:
    """Requests a description states: its first sentence (what the skill does, usually as
    an imperative) and a "use when asked …" sentence turned into a request."""
    sentences = [s.strip() for s in _SENTENCE.split(description.strip()) if s.strip()]
    requests = sentences[:1]
    for sentence in sentences[1:]:
        match = _WHEN.match(sentence)
        if not match:
            continue
        word, rest = match.group(1).lower(), match.group(2).strip()
        if word == "to":
            requests.append(f"Please {rest}.")
        elif word == "for":
            requests.append(f"I need {rest}.")
        elif word == "about":
            requests.append(f"I have a question about {rest}.")
        else:
            requests.append(f"{word.capitalize()} {rest}?")
    return requests


def _task_prompts(skill: Skill, workspace: Workspace) -> list[tuple[str, str]]:
    from skvm_core.run.authoring import tasks_for_skill

    tasks = sorted(tasks_for_skill(skill, workspace), key=lambda t: t.id)
    return [(t.prompt.strip(), t.id) for t in tasks if t.prompt.strip()]


def sibling_skills(skill: Skill, fallback: list[Path] | None = None) -> list[Skill]:
    """The other skills in the skill's parent folder, else in the `fallback` folders."""
    from skvm_core.skill import load_skill

    def skills_in(folder: Path) -> list[Skill]:
        found = []
        for path in sorted(folder.glob("*/SKILL.md")) if folder.is_dir() else []:
            if path.parent.resolve() == skill.root.resolve():
                continue
            try:
                other = load_skill(path.parent)
            except SkvmError:
                continue  # a broken neighbour is not this skill's problem
            if other.name != skill.name:
                found.append(other)
        return found

    siblings = skills_in(skill.root.parent)
    if not siblings:  # a skill on its own: the project's skills stand in as neighbours
        for folder in fallback or []:
            siblings += skills_in(folder)
    return siblings


def default_fallback() -> list[Path]:
    """The skill folders that ship with this project (present in a checkout)."""
    base = Path(__file__).resolve().parent.parent.parent
    return [base / "sample_skills", base / "skill_set"]


def synthesise(skill: Skill, workspace: Workspace, fallback: list[Path] | None = None) -> PromptSet:
    """Should-trigger prompts from the skill's tasks and description; should-not-trigger
    prompts from other skills' tasks (their descriptions where they have none), taken in
    turn from each skill so that no one neighbour fills the set."""
    positives = [
        _prompt(text, True, f"task:{tid}") for text, tid in _task_prompts(skill, workspace)
    ]
    positives += [_prompt(t, True, "description") for t in description_requests(skill.description)]
    positives = _unique(positives)
    pools: list[list[TriggerPrompt]] = []
    siblings = sibling_skills(skill, default_fallback() if fallback is None else fallback)
    # A different order of neighbours per skill, the same on every call.
    siblings.sort(key=lambda s: hashlib.sha256(f"{skill.name}:{s.name}".encode()).hexdigest())
    for other in siblings:
        pool = [
            _prompt(text, False, f"other:{other.name}/task:{tid}")
            for text, tid in _task_prompts(other, workspace)
        ] or [
            _prompt(t, False, f"other:{other.name}/description")
            for t in description_requests(other.description)[:1]
        ]
        if pool:
            pools.append(pool)
    wanted = max(MIN_NEGATIVES, len(positives))
    negatives: list[TriggerPrompt] = []
    for depth in range(max((len(p) for p in pools), default=0)):
        for pool in pools:
            if depth < len(pool) and len(negatives) < wanted:
                negatives.append(pool[depth])
    negatives = [n for n in _unique(negatives) if n.text not in {p.text for p in positives}]
    if not positives or not negatives:
        missing = "should-trigger" if not positives else "should-not-trigger"
        raise SkvmError(
            f"cannot synthesise {missing} prompts for {skill.name}: "
            + (
                "it has no tasks and no description"
                if not positives
                else "no other skills were found beside it"
            ),
            hint=f"write {TRIGGERS_FILE} beside its tasks or pass --prompts FILE; {AUTHORED_HINT}",
        )
    return PromptSet(origin="synthesised", prompts=positives + negatives)


def prompt_set(
    skill: Skill,
    workspace: Workspace,
    prompts_file: str | Path | None = None,
    fallback: list[Path] | None = None,
) -> PromptSet:
    """The skill's prompts by precedence: given, authored, imported, else synthesised."""
    if prompts_file is not None:
        return read_prompt_file(Path(prompts_file).expanduser(), skill)
    for found in (authored_file(skill, workspace), imported_file(skill)):
        if found is not None:
            return read_prompt_file(found, skill)
    return synthesise(skill, workspace, fallback)


def split_prompts(
    prompts: list[TriggerPrompt], held_out: float, seed: int
) -> tuple[list[TriggerPrompt], list[TriggerPrompt]]:
    """(train, held-out): seeded, per kind, so both splits hold both kinds where a kind
    has two prompts or more; the same prompts and seed give the same split."""
    train: list[TriggerPrompt] = []
    test: list[TriggerPrompt] = []
    for kind in (True, False):
        group = [p for p in prompts if p.should_trigger == kind]
        group.sort(key=lambda p: hashlib.sha256(f"{seed}:{p.id}".encode()).hexdigest())
        if len(group) < 2:
            train += group
            continue
        count = min(len(group) - 1, max(1, round(len(group) * held_out)))
        test += group[:count]
        train += group[count:]
    return train, test
