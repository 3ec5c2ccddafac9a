"""Concurrency notes: what the compiler writes into a variant for each parallel group of
the skill's workflow (the DAG itself is extracted in `skvm_core.skill.workflow`)."""

from __future__ import annotations

from skvm_core.skill.workflow import (  # noqa: F401  (the compiler's names for them)
    ParallelGroup,
    Workflow,
    WorkflowStep,
    extract_workflow,
    parallel_groups,
)

DLP_TEMPLATE = """```bash
for item in ITEMS; do
  COMMAND "$item" > "OUTPUT_FOR_$item" &
done
wait
```"""


def concurrency_notes(workflow: Workflow) -> list[tuple[int, list[str], ParallelGroup]]:
    """(anchor line, note lines, group) to insert into the variant for each group."""
    by_id = {s.id: s for s in workflow.steps}
    notes = []
    for group in workflow.groups:
        numbers = [by_id[s].number for s in group.steps]
        anchor = max(by_id[s].lines[1] for s in group.steps)
        anchor = max(anchor, workflow.lines[1]) if group.kind != "DLP" else workflow.lines[1]
        if group.kind == "DLP":
            lines = [
                f"> **Compiled note (concurrency, DLP):** step {numbers[0]} repeats one operation for many items. Issue the tool calls for all items in one turn, or run them together in one command:",
                ">",
                *[f"> {line}" for line in DLP_TEMPLATE.splitlines()],
            ]
        else:
            listed = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
            later = [s for s in workflow.steps if set(group.steps) & set(s.depends_on)]
            then = f", then do step {later[0].number}" if later else ""
            lines = [
                f"> **Compiled note (concurrency, {group.kind}):** steps {listed} do not depend on each other: issue their tool calls together in one turn{then}."
            ]
        notes.append((anchor, lines, group))
    return notes
