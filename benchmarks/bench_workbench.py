"""Workbench: time to first paint, and trace-pane throughput under a stream of events.

First paint: a fresh interpreter imports the workbench, starts it headless and stops after
the first frame; measured beside a bare `import textual` in the same run. The child also
reports whether litellm was imported by then (it must not be).

Throughput: 2,000 trace events/s are appended for 4 s while a message is posted to the
app every 100 ms; the delay until each is handled is the input latency.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._util import report

ROOT = Path(__file__).resolve().parent.parent
FIRST_PAINT = """
import time
started = time.perf_counter()
import asyncio, json, sys
from pathlib import Path
from skvm_tui.app import WorkbenchApp
from skvm_tui.engine import Engine
from skvm_tui.settings import WorkbenchSettings
from skvm_core.store.workspace import Workspace

marks = {}
painted = asyncio.Event()

class Timed(WorkbenchApp):
    def on_mount(self):
        # The callback runs once the first frame has been drawn.
        self.call_after_refresh(self.mark)

    def mark(self):
        marks.update(paint=time.perf_counter(), litellm="litellm" in sys.modules)
        painted.set()

async def main():
    app = Timed(Path(sys.argv[1]), ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"], Engine(Workspace(Path(sys.argv[2]))), WorkbenchSettings(watch=False), persist_settings=False)
    async with app.run_test(size=(150, 46)):
        # On a loaded machine the first frame may come after the pilot's first pause.
        await asyncio.wait_for(painted.wait(), timeout=60)
    print(json.dumps({"paint_s": marks["paint"] - started, "litellm": marks["litellm"]}))

asyncio.run(main())
"""


EMPTY_APP = """
import time
started = time.perf_counter()
import asyncio, json
from textual.app import App
from textual.widgets import Static

marks = {}
painted = asyncio.Event()

class Empty(App):
    def compose(self):
        yield Static("empty")

    def on_mount(self):
        self.call_after_refresh(self.mark)

    def mark(self):
        marks.update(paint=time.perf_counter())
        painted.set()

async def main():
    async with Empty().run_test(size=(150, 46)):
        await asyncio.wait_for(painted.wait(), timeout=60)
    print(json.dumps({"paint_s": marks["paint"] - started}))

asyncio.run(main())
"""


def _child(code: str, *args: str) -> dict:
    """Run a measuring child; a failure raises with the child's own last words."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        said = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the first-paint child exited {out.returncode}: {said}")
    return json.loads(lines[-1])


def empty_app_paint(repeats: int = 5) -> float:
    """An empty Textual app's first frame, the same way (interpreter start included)."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        interpreter = time.perf_counter() - started
        samples.append(interpreter + _child(EMPTY_APP)["paint_s"])
    return statistics.median(samples)


def first_paint(repeats: int = 5) -> tuple[float, float, bool]:
    """Interpreter start (a bare `python -c pass`, measured alongside) + script start to first frame."""
    paint, bare, litellm = [], [], False
    with tempfile.TemporaryDirectory() as workspace:
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            interpreter = time.perf_counter() - started
            data = _child(FIRST_PAINT, str(ROOT / "sample_skills" / "csv-report"), workspace)
            paint.append(interpreter + data["paint_s"])
            litellm = litellm or data["litellm"]
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
            bare.append(time.perf_counter() - started)
    return statistics.median(paint), statistics.median(bare), litellm


async def trace_throughput(
    rate: int = 2000, seconds: float = 4.0
) -> tuple[float, float, float, int, float]:
    from textual.app import App
    from textual.message import Message

    from skvm_core.agent.trace import ToolCallEvent, ToolResultEvent
    from skvm_tui.widgets.trace_pane import TracePane

    class Ping(Message):
        def __init__(self, sent: float) -> None:
            super().__init__()
            self.sent = sent

    class Bench(App):
        def compose(self):
            yield TracePane()

        def on_mount(self) -> None:
            self.latencies: list[float] = []

        def on_ping(self, message: Ping) -> None:
            self.latencies.append(time.perf_counter() - message.sent)

    app = Bench()
    async with app.run_test(size=(150, 46)) as pilot:
        pane = app.query_one(TracePane)
        batch = rate // 20
        started = time.perf_counter()
        sent = 0
        tick = 0
        while time.perf_counter() - started < seconds:
            for _ in range(batch):
                call_id = f"c{sent}"
                event = (
                    ToolCallEvent(
                        run_id="bench",
                        step=sent // 10,
                        call_id=call_id,
                        name="read_file",
                        arguments={"path": f"f{sent}.txt"},
                    )
                    if sent % 2 == 0
                    else ToolResultEvent(
                        run_id="bench",
                        step=sent // 10,
                        call_id=f"c{sent - 1}",
                        name="read_file",
                        output="line\n" * 3,
                    )
                )
                pane.add(event)
                sent += 1
            if tick % 2 == 0:
                app.post_message(Ping(time.perf_counter()))
            tick += 1
            target = started + tick * 0.05
            await asyncio.sleep(
                max(0.0, target - time.perf_counter())
            )  # pacing the producer, not synchronising
        produced_for = time.perf_counter() - started
        backlog = len(pane.pending)  # what the pane had not drawn yet when the stream ended
        await pilot.pause()
        pane.flush(everything=True)
        assert pane.events_drawn == sent
        latencies = sorted(app.latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1] if latencies else float("nan")
    behind = produced_for - tick * 0.05  # how far the producer fell behind its 50 ms schedule
    return sent / produced_for, max(latencies), p95, backlog, behind


def run() -> list[dict]:
    paint, bare, litellm = first_paint()
    empty = empty_app_paint()
    rate, worst, p95, backlog, behind = asyncio.run(trace_throughput())
    return [
        report(
            "workbench: first paint / an empty Textual app's",
            f"{paint / empty:.2f}x ({paint * 1000:.0f} vs {empty * 1000:.0f} ms)",
            "<= 1.5x",
            paint / empty <= 1.5,
        ),
        report(
            "workbench: time to first paint",
            f"{paint * 1000:.0f} ms (import textual alone: {bare * 1000:.0f} ms)",
            "< 1000 ms",
            paint < 1.0,
        ),
        report(
            "workbench: litellm imported before first paint", str(litellm), "False", not litellm
        ),
        report(
            "workbench: trace events appended per second",
            f"2,000/s offered: {rate:,.0f}/s delivered, {behind * 1000:.0f} ms behind schedule, {backlog} undrawn at the end",
            "keep up with 2,000/s",
            behind < 0.1 and backlog <= 250,
        ),
        report(
            "workbench: input latency under that load",
            f"p95 {p95 * 1000:.0f} ms, max {worst * 1000:.0f} ms",
            "< 100 ms",
            worst < 0.1,
        ),
    ]
