"""Child process for the bench kill-and-resume test: prints one line per finished run."""

import asyncio
import sys
from pathlib import Path

from skvm_core.bench.orchestrator import Bench, BenchPlan
from skvm_core.llm import ScriptedCall, ScriptedModel, ScriptedTurn, register_scripted
from skvm_core.store.workspace import Workspace


def answer(messages, tools):
    # First turn lists the folder; after a tool result, finish.
    if messages[-1]["role"] == "tool":
        return ScriptedTurn(text="finished", latency_s=0.05)
    return ScriptedTurn(
        tool_calls=[ScriptedCall(name="list_directory", arguments={})], latency_s=0.05
    )


def main() -> None:
    workspace, tasks, session = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
    model = register_scripted(ScriptedModel(answer), name="bench-child")
    plan = BenchPlan(
        session=session,
        tasks=tasks,
        targets=[model],
        conditions=["no-skill", "original"],
        runs=2,
        concurrency=2,
    )
    bench = Bench(
        plan,
        Workspace(workspace),
        lambda record, done, total: print(
            f"done {record.task_id} {record.condition} {record.run}", flush=True
        ),
    )
    asyncio.run(bench.run())
    print(f"executed {bench.executed} reused {bench.reused}", flush=True)


if __name__ == "__main__":
    main()
