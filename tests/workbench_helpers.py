"""Building a workbench for tests: temp workspace, fixture profiles, no persisted settings."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from skvm_core.profile.store import BUNDLED
from skvm_core.store.workspace import Workspace
from skvm_tui.app import WorkbenchApp
from skvm_tui.engine import Engine
from skvm_tui.settings import WorkbenchSettings
from tests.conftest import SAMPLE_SKILLS

# The project's own bundled profiles of the two embedded models: a bare clone runs these tests.
WEAK, STRONG = "local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"


def bundled_profile(model: str) -> Path:
    return BUNDLED / "bare-agent" / model.replace("/", "--") / "latest.json"


class RecordingApp(WorkbenchApp):
    """Keeps every message posted to the app, so tests can assert what workers sent."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.posted: list = []
        self._changed = asyncio.Event()

    # Textual also runs the base class's handlers for these messages; signal after them.
    def on_compiled(self, message) -> None:
        self.call_later(self._changed.set)

    def on_load_finished(self, message) -> None:
        self.call_later(self._changed.set)

    async def _wait(self, condition, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def wait_compiles(self, count: int, timeout: float = 60.0) -> None:
        """Wait (on events, not a clock) until `count` compiles have been shown."""
        await self._wait(lambda: self.compiles >= count, timeout)

    async def wait_loads(self, count: int = 1, timeout: float = 60.0) -> None:
        """Wait until `count` load/recompile passes have finished and been handled."""
        await self._wait(lambda: self.loads_finished >= count, timeout)

    def post_message(self, message) -> bool:
        self.posted.append(message)
        return super().post_message(message)

    def kinds(self) -> list[str]:
        return [type(m).__name__ for m in self.posted]


def copy_skill(tmp_path: Path, name: str) -> Path:
    """A private copy of a sample skill and its tasks (tests edit files)."""
    root = tmp_path / "skills"
    shutil.copytree(SAMPLE_SKILLS / name, root / name)
    for task in (SAMPLE_SKILLS / "tasks").iterdir():
        data = json.loads((task / "task.json").read_text())
        if data.get("skill") == f"../../{name}":
            shutil.copytree(task, root / "tasks" / task.name)
    return root / name


def make_app(
    tmp_path: Path,
    skill: str = "csv-report",
    targets: list[str] | None = None,
    overrides: dict | None = None,
    **settings,
) -> RecordingApp:
    default = {WEAK: bundled_profile(WEAK), STRONG: bundled_profile(STRONG)}
    engine = Engine(Workspace(tmp_path / "ws"), {**default, **(overrides or {})})
    folder = copy_skill(tmp_path, skill)
    return RecordingApp(
        folder,
        targets or [WEAK, STRONG],
        engine,
        WorkbenchSettings(**{"watch": False, **settings}),
        persist_settings=False,
    )
