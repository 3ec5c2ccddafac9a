"""What a trial does to a template: its status moves (candidate → shadow → promoted, or
demoted after failures in a row), and every graded success teaches binding rules."""

from __future__ import annotations

from skvm_core.jit.locate import learn_locators
from skvm_core.jit.model import TemplateRecord, Trial
from skvm_core.jit.store import JitStore
from skvm_core.store.workspace import Workspace

SHADOW_RUNS = 3  # passing shadow trials in a row before a template is trusted
DEMOTE_AFTER = 2  # failures in a row that end a template's use


def record_trial(
    workspace: Workspace,
    skill: str,
    target: str,
    template_id: str,
    trial: Trial,
    *,
    shadow_runs: int = SHADOW_RUNS,
    demote_after: int = DEMOTE_AFTER,
) -> str:
    """Add a trial and move the template's status by it; returns the new status."""
    with JitStore(workspace).update(skill, target) as state:
        record = state.templates.get(template_id)
        if record is None:  # reset meanwhile
            return "gone"
        apply_trial(record, trial, shadow_runs=shadow_runs, demote_after=demote_after)
        return record.status


def apply_trial(
    record: TemplateRecord, trial: Trial, *, shadow_runs: int, demote_after: int
) -> None:
    record.trials.append(trial)
    if trial.ok:
        record.failures_in_a_row = 0
        relearn_locators(record)
        if record.status == "candidate":
            record.status = "shadow"
        streak = 0
        for earlier in reversed(record.trials):
            if earlier.mode != "shadow" or not earlier.ok:
                break
            streak += 1
        if record.status == "shadow" and streak >= shadow_runs:
            record.status = "promoted"
            record.note = f"passed {streak} shadow trials in a row"
        return
    record.failures_in_a_row += 1
    if record.failures_in_a_row >= demote_after and record.status != "demoted":
        record.status = "demoted"
        record.note = (
            f"failed {record.failures_in_a_row} times in a row; last: {trial.reason[:200]}"
        )


def relearn_locators(record: TemplateRecord) -> None:
    """Every graded success is a task whose right values are known: with two or more, the
    rules that find all of them are learned, so later tasks bind without the model."""
    template = record.template
    for index, param in enumerate(template.params):
        pairs = [
            (prompt, param.examples[min(i, len(param.examples) - 1)])
            for i, prompt in enumerate(template.prompts)
            if param.examples
        ]
        pairs += [
            (t.prompt, t.bound[param.name])
            for t in record.trials
            if t.ok and t.prompt and param.name in t.bound
        ]
        if len(pairs) >= 2:
            template.params[index] = param.model_copy(
                update={"locators": learn_locators(pairs, param.kind)}
            )
