"""The workbench's access to the pipeline. No Textual here: workers call these and post
the results as messages, so the same calls are testable without a UI."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from skvm_core.store.workspace import Workspace

if TYPE_CHECKING:
    from skvm_core.agent.trace import Subscriber
    from skvm_core.bench.run import TaskRun
    from skvm_core.bench.task import Task
    from skvm_core.compile import CompileResult
    from skvm_core.profile.tcp import TCP
    from skvm_core.skill import Skill

# The pipeline modules are imported on first use, inside workers, to keep the first paint fast.


@dataclass
class Engine:
    workspace: Workspace
    profile_overrides: dict[str, Path] = field(default_factory=dict)

    def load_skill(self, folder: Path) -> Skill:
        from skvm_core.skill import load_skill

        return load_skill(folder)

    def profile(self, target: str) -> TCP | None:
        from skvm_core.profile.store import find_profile
        from skvm_core.profile.tcp import load_tcp

        path = self.profile_overrides.get(target) or find_profile(target, self.workspace)
        return load_tcp(path) if path else None

    def compile(self, skill: Skill, tcp: TCP) -> CompileResult:
        from skvm_core.compile import compile_skill

        return compile_skill(skill, tcp, cache_dir=self.workspace.root / "cache" / "compile")

    def variant_skill(self, result: CompileResult) -> Skill:
        from skvm_core.compile import materialize_variant
        from skvm_core.skill import load_skill

        folder = materialize_variant(result, self.workspace)
        return load_skill(folder)

    def tasks_for(self, skill: Skill) -> list[Task]:
        """Tasks that name this skill, from the skill's sibling `tasks/` folder."""
        from skvm_core.bench.task import discover_tasks

        found: list[Task] = []
        for root in (skill.root.parent / "tasks", skill.root / "tasks"):
            if root.is_dir():
                for task in discover_tasks(root):
                    if skill.root.resolve() in [
                        p.resolve() for p in task.skill_paths()
                    ] or skill.root.name in [p.name for p in task.skill_paths()]:
                        found.append(task)
        return found

    async def run(
        self, task: Task, target: str, skill: Skill | None, subscriber: Subscriber
    ) -> TaskRun:
        # litellm takes seconds to import: do it off the event loop so the UI stays live.
        from skvm_core.bench.run import run_task
        from skvm_core.llm import preload

        await asyncio.to_thread(preload)
        return await run_task(
            task,
            target,
            skill=skill,
            workspace=self.workspace,
            subscribers=[subscriber],
            label=f"{task.id}",
        )
