"""Repeated-task latency: a promoted template vs the model path, on the embedded 0.5B.

Eight instances of one job (group totals of a CSV file, `csv_jobs.py`), the same skill.
The runtime first learns: the first tasks run the model path with candidates in its
shadow until one is promoted. Then every task runs both ways, side by side in this process:
the model path (`run_task`, the original skill) and the solidified run (`run_solidified`),
each timed end to end (folder set up, values bound, job done, graded). Goal: the median
model-path run takes at least 50× the median solidified run.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._util import report
from benchmarks.csv_jobs import write_tasks

MODEL = "local/qwen2.5-coder-0.5b"
TASKS = 8
LEARNING_TASKS = 4


def run() -> dict:
    from skvm_core.llm.models import check_model_ready

    try:
        check_model_ready(MODEL)
    except Exception as exc:  # no weights here: nothing to measure
        return report("solidified vs model path (0.5B)", f"skipped: {exc}", "≥ 50×", None)
    return asyncio.run(_measure())


async def _measure() -> dict:
    from skvm_core.jit import JitStore
    from skvm_core.jit.runtime import run_solidified
    from skvm_core.run.runner import run_task, task_skill
    from skvm_core.run.task import load_task
    from skvm_core.store.workspace import Workspace

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        tasks = [load_task(p) for p in write_tasks(root / "tasks", TASKS, seed=11)]
        skill = task_skill(tasks[0])
        workspace = Workspace(root / "ws")
        for task in tasks[:LEARNING_TASKS]:
            await run_solidified(task, MODEL, skill=skill, workspace=workspace)
        state = JitStore(workspace).load(skill.name, MODEL)
        promoted = [tid for tid, r in state.templates.items() if r.status == "promoted"]
        model_s, solid_s, by_template, passed = [], [], 0, {"model": 0, "solidified": 0}
        for task in tasks:
            started = time.perf_counter()
            outcome = await run_task(task, MODEL, skill=skill, workspace=workspace)
            model_s.append(time.perf_counter() - started)
            passed["model"] += outcome.score.passed
            started = time.perf_counter()
            outcome = await run_solidified(task, MODEL, skill=skill, workspace=workspace)
            solid_s.append(time.perf_counter() - started)
            passed["solidified"] += outcome.score.passed
            by_template += outcome.run.extra.get("solidified", {}).get("outcome") == "template"
    ratio = statistics.median(model_s) / statistics.median(solid_s)
    print(
        f"  promoted after {LEARNING_TASKS} learning tasks: {promoted or 'none'}; "
        f"{by_template}/{TASKS} solidified runs done by the template"
    )
    print(
        f"  median per task: model path {statistics.median(model_s):.2f} s "
        f"(passed {passed['model']}/{TASKS}), solidified {statistics.median(solid_s):.3f} s "
        f"(passed {passed['solidified']}/{TASKS})"
    )
    return report(
        "solidified vs model path (0.5B, median)",
        f"{ratio:.0f}× faster",
        "≥ 50×",
        ratio >= 50,
    )


if __name__ == "__main__":
    run()
