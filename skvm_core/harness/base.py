"""The harness adapter interface: set up a work folder, put a skill where the harness looks
for skills, run a prompt non-interactively under a time limit, collect the transcript,
tokens and cost as reported, and end every process started. Our bare agent is one
implementation; external CLIs (OpenCode, Codex CLI) are others."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from skvm_core.agent.protocols import ProtocolDecision
from skvm_core.agent.result import RunLimits, RunResult, SkillMode
from skvm_core.agent.trace import Subscriber
from skvm_core.skill import Skill

HarnessName = str  # "bare" | "opencode" | "codex"


class HarnessAdapter(ABC):
    name: HarnessName
    # Where, relative to a project folder, the harness discovers skills (one folder each).
    skills_folder: str | None = None

    @abstractmethod
    async def run(
        self,
        model: str,
        prompt: str,
        work_dir: Path,
        skill: Skill | None,
        limits: RunLimits,
        *,
        run_id: str,
        trace_path: Path | None,
        subscribers: list[Subscriber] | None = None,
        protocol: ProtocolDecision | None = None,
        skill_mode: SkillMode = "inject",
    ) -> RunResult: ...

    def install_skill(self, skill: Skill, project: Path) -> Path:
        """Copy the skill (or compiled variant) where this harness loads skills in
        `project`; returns the skill's folder there."""
        if self.skills_folder is None:
            raise NotImplementedError(f"the {self.name} harness has no skills folder")
        from skvm_core.store.beneath import copy_tree_beneath, remove_beneath

        # The project may hold links planted before (`.opencode -> /`): nothing is removed
        # or written through one, and the skill's own links are not copied.
        relative = f"{self.skills_folder}/{skill.name}"
        remove_beneath(project, relative)
        return copy_tree_beneath(
            skill.root,
            project,
            relative,
            # Not the skill's content: build and tool state that can be huge or hold links.
            ignore=lambda name: (
                name in (".skvm", "__pycache__", ".git", "node_modules", ".venv")
                or name.endswith(".pyc")
            ),
        )


class BareHarness(HarnessAdapter):
    """Our own agent loop, with the target's action protocol."""

    name = "bare"
    skills_folder = ".agents/skills"

    async def run(
        self,
        model,
        prompt,
        work_dir,
        skill,
        limits,
        *,
        run_id,
        trace_path,
        subscribers=None,
        protocol=None,
        skill_mode="inject",
    ) -> RunResult:
        from skvm_core.agent.bare import BareAgent

        agent = BareAgent(model, subscribers=subscribers, protocol=protocol or "auto")
        return await agent.run(
            prompt,
            work_dir,
            skill,
            limits,
            skill_mode=skill_mode,
            run_id=run_id,
            trace_path=trace_path,
        )
