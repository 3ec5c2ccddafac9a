"""Where templates come from and which fits a task: new passing runs and the compiler's
verified scripts become candidates; templates are ranked by likeness to the task."""

from __future__ import annotations

import re

from skvm_core.jit.harvest import compiler_candidates, generalise, merge, passing_runs
from skvm_core.jit.model import TemplateRecord
from skvm_core.jit.store import JitStore
from skvm_core.skill import Skill
from skvm_core.store.workspace import Workspace


def refresh_candidates(store: JitStore, skill: Skill, target: str, workspace: Workspace) -> int:
    """New candidates from passing runs stored since the last look, and (once) from the
    commands the compiler verified. Returns how many templates are new."""
    state = store.load(skill.name, target)
    runs, read = passing_runs(workspace, skill.name, set(state.harvested))
    templates = [t for run in runs if (t := generalise(run, skill)) is not None]
    compiler = [] if state.compiler_harvested else compiler_candidates(skill)
    with store.update(skill.name, target) as state:
        # Earlier runs of the same job join the new ones, so their rules are learned together.
        known = [
            t.template
            for t in state.templates.values()
            if t.template.source == "traces" and t.status == "candidate"
        ]
        added = 0
        for template in merge(_unmerged(known) + templates) + compiler:
            if template.id in state.templates:
                record = state.templates[template.id]
                if record.status == "candidate" and template.source == "traces":
                    record.template = template
                continue
            state.templates[template.id] = TemplateRecord(template=template)
            added += 1
        state.harvested = sorted(set(state.harvested) | set(read))
        state.compiler_harvested = True
    return added


def _unmerged(templates):
    """Stored trace templates split back into one per origin run, to merge afresh."""
    single = []
    for template in templates:
        for index, (origin, prompt) in enumerate(
            zip(template.origins, template.prompts, strict=False)
        ):
            params = [
                p.model_copy(update={"examples": [p.examples[min(index, len(p.examples) - 1)]]})
                for p in template.params
            ]
            single.append(
                template.model_copy(
                    update={"origins": [origin], "prompts": [prompt], "params": params}
                )
            )
    return single


def _words(text: str) -> set[str]:
    # A crude stem ("counts" and "count" are one word) is enough to compare tasks.
    return {w.lower().removesuffix("s") for w in re.findall(r"[A-Za-z]{3,}", text)}


def ranked(records: list[TemplateRecord], prompt: str) -> list[TemplateRecord]:
    """Templates most like this task first: word overlap with the prompts they came from
    (for a template from the compiler, with its own commands), then evidence."""
    words = _words(prompt)

    def likeness(record: TemplateRecord) -> tuple[float, int, int]:
        template = record.template
        if template.prompts:
            texts = template.prompts
        else:  # only the words its own commands add, over what every such template shares
            texts = [" ".join(s.text for s in template.steps if s.kind == "command")]
        overlaps = [len(words & _words(t)) / max(1, len(words | _words(t))) for t in texts]
        return (max(overlaps, default=0.0), record.shadow_passes, len(record.template.origins))

    return sorted(records, key=likeness, reverse=True)
