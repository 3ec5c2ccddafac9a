"""One agent run as every harness adapter takes it, held as a value: the runner passes it
on whole, and a fan-out changes only what differs for a sub-run (its prompt, folder, id)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from skvm_core.agent.result import RunLimits, RunResult, SkillMode
from skvm_core.agent.trace import Subscriber
from skvm_core.skill import Skill


@dataclasses.dataclass(frozen=True)
class AgentCall:
    model: str
    prompt: str
    work_dir: Path
    skill: Skill | None
    limits: RunLimits
    run_id: str
    subscribers: list[Subscriber] = dataclasses.field(default_factory=list)
    protocol: Any = "auto"
    skill_mode: SkillMode = "inject"

    def but(self, **changes: Any) -> AgentCall:
        return dataclasses.replace(self, **changes)

    async def run(self, adapter: Any, trace_path: Path) -> RunResult:
        return await adapter.run(
            self.model,
            self.prompt,
            self.work_dir,
            self.skill,
            self.limits,
            run_id=self.run_id,
            trace_path=trace_path,
            subscribers=self.subscribers,
            protocol=self.protocol,
            skill_mode=self.skill_mode,
        )
