"""The Ray executor against a real local Ray instance (loopback): the same records as the
local executor, a killed worker's run retried, an interrupted session resumed by either."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

from skvm_core.bench.orchestrator import Bench, BenchPlan
from skvm_core.bench.report import build_report
from skvm_core.bench.sessions import load_session
from skvm_core.executors import make_executor
from skvm_core.profile.runner import ProfileOptions, Profiler
from skvm_core.store.workspace import Workspace
from tests.conftest import SAMPLE_SKILLS

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

TASKS = [str(SAMPLE_SKILLS / "tasks" / n) for n in ("csv-count-status", "log-unique-ips")]
# Fields that describe where and how long a run took, not what it did.
CIRCUMSTANCE = {"wall_ms", "model_ms", "trace"}


def scripted_file(folder: Path, latency_s: float = 0.0) -> str:
    """A file-backed scripted model (a worker process loads it by path)."""
    counts = json.dumps({"open": 6, "closed": 8, "pending": 6})
    script = {
        "latency_s": latency_s,
        "turns": [
            {
                "tool_calls": [
                    {"name": "write_file", "arguments": {"path": "counts.json", "content": counts}}
                ]
            },
            {"text": "done"},
        ],
    }
    path = folder / "model.json"
    path.write_text(json.dumps(script))
    return f"scripted/{path}"


@pytest.fixture(scope="module")
def ray_executor():
    executor = make_executor("ray")
    yield executor
    asyncio.run(executor.close())


def comparable(records) -> list[dict]:
    return sorted(
        (r.model_dump(exclude=CIRCUMSTANCE) for r in records),
        key=lambda r: (r["task_id"], r["condition"], r["run"]),
    )


async def test_a_bench_through_ray_gives_the_local_records(tmp_path, ray_executor):
    model = scripted_file(tmp_path)
    plan = BenchPlan(
        session="s",
        tasks=TASKS,
        targets=[model],
        conditions=["no-skill", "original"],
        runs=2,
        concurrency=4,
        per_target=4,
    )
    streamed: list[int] = []
    on_ray = await Bench(
        plan,
        Workspace(tmp_path / "ray"),
        lambda r, done, total: streamed.append(done),
        executor=ray_executor,
    ).run()
    local = await Bench(plan, Workspace(tmp_path / "local")).run()
    assert comparable(on_ray) == comparable(local)
    assert streamed == list(range(1, 9))  # each result came back as it finished
    assert {r.passed for r in on_ray if r.task_id == "csv-count-status"} == {True}
    report = build_report("s", on_ray)
    assert {c.condition for c in report.cells} == {"no-skill", "original"}


async def test_a_profile_through_ray_gives_the_local_records(tmp_path, ray_executor):
    model = scripted_file(tmp_path)

    options = ProfileOptions(
        model=model, primitives=["tool.file.write", "follow.format"], instances=1, concurrency=4
    )
    on_ray = Profiler(options, Workspace(tmp_path / "ray"), executor=ray_executor)
    local = Profiler(options, Workspace(tmp_path / "local"))
    ray_tcp, local_tcp = await on_ray.run(), await local.run()
    strip = {"wall_ms", "model_ms", "trace"}
    assert {k: r.model_dump(exclude=strip) for k, r in on_ray.records.items()} == {
        k: r.model_dump(exclude=strip) for k, r in local.records.items()
    }
    assert dict(ray_tcp.capabilities) == dict(local_tcp.capabilities)


async def wait_for(condition, timeout_s: float = 60.0):
    """Poll a condition another process makes true (a file appearing)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


async def test_a_killed_worker_leads_to_a_retried_run_and_a_complete_report(tmp_path, ray_executor):
    model = scripted_file(tmp_path, latency_s=4.0)
    workspace = Workspace(tmp_path / "ws")
    plan = BenchPlan(session="k", tasks=TASKS[:1], targets=[model], conditions=["no-skill"], runs=1)
    bench = asyncio.ensure_future(Bench(plan, workspace, executor=ray_executor).run())
    runs = workspace.root / "runs"
    marker = await wait_for(
        lambda: next(iter(runs.glob("*/RUNNING")), None) if runs.is_dir() else None
    )
    os.kill(int(marker.read_text()), signal.SIGKILL)  # the worker process running it
    (record,) = await bench
    assert record.worker_retries == 1 and record.status == "ok" and not record.tainted
    assert record.passed  # the retry ran the whole run again, elsewhere
    report = build_report("k", load_session(workspace, "k").records)
    assert report.cells[0].graded == 1


async def test_an_interrupted_session_resumes_under_either_executor(tmp_path, ray_executor):
    model = scripted_file(tmp_path)
    workspace = Workspace(tmp_path / "ws")
    plan = BenchPlan(
        session="i", tasks=TASKS, targets=[model], conditions=["no-skill", "original"], runs=2
    )
    first_done = asyncio.Event()
    interrupted = asyncio.ensure_future(
        Bench(plan, workspace, lambda *_: first_done.set(), executor=ray_executor).run()
    )
    await first_done.wait()
    interrupted.cancel()  # Ctrl-C: finished runs are on disk, the rest is not
    with pytest.raises(asyncio.CancelledError):
        await interrupted
    stored = len(load_session(workspace, "i").records)
    assert 1 <= stored < 8
    resumed = Bench(plan, workspace)  # the local executor picks it up
    records = await resumed.run()
    assert resumed.reused == stored and resumed.executed == 8 - stored and len(records) == 8
    again = Bench(plan, workspace, executor=ray_executor)  # and Ray has nothing left to do
    await again.run()
    assert again.executed == 0 and again.reused == 8


@pytest.mark.local_model
async def test_a_two_task_bench_on_the_embedded_model_through_ray(tmp_path, ray_executor):
    plan = BenchPlan(
        session="l",
        tasks=TASKS,
        targets=["local/qwen2.5-coder-0.5b"],
        conditions=["original"],
        runs=1,
    )
    records = await Bench(plan, Workspace(tmp_path), executor=ray_executor).run()
    assert len(records) == 2
    assert all(r.status == "ok" and r.protocol and r.usage.input > 0 for r in records), records


def test_an_unknown_executor_is_a_clear_error():
    from skvm_core.errors import SkvmError

    with pytest.raises(SkvmError, match="unknown executor"):
        make_executor("kubernetes")
