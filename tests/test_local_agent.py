"""End to end on the real 0.5B model: a sample task, a trace with executed tool calls, a score."""

import pytest

from skvm_core.agent.trace import read_trace
from skvm_core.bench.run import run_task
from skvm_core.bench.task import load_task
from skvm_core.store.workspace import Workspace
from tests.conftest import SAMPLE_SKILLS

pytestmark = pytest.mark.local_model


async def test_small_model_runs_a_sample_task_end_to_end(tmp_path):
    task = load_task(SAMPLE_SKILLS / "tasks" / "invoice-three")
    task.max_steps = 4
    outcome = await run_task(task, "local/qwen2.5-coder-0.5b", workspace=Workspace(tmp_path))
    events = read_trace(outcome.run.trace_path)
    executed = [e for e in events if e.type == "tool_result"]
    assert executed, [e.type for e in events]
    assert events[-1].type == "run_finished"
    assert outcome.run.status in ("ok", "timeout")
    assert outcome.run.usage.input > 0 and outcome.run.format_repairs > 0
    assert 0.0 <= outcome.score.score <= 1.0  # passing is the model's business
