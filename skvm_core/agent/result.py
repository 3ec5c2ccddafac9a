"""Run limits, steps and results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from skvm_core.agent.trace import RunStatus
from skvm_core.llm.types import ToolCall, Usage

SkillMode = Literal["inject", "discover"]


class RunLimits(BaseModel):
    max_steps: int = Field(default=30, ge=1, le=500)
    timeout_s: float = Field(default=300.0, gt=0)
    command_timeout_s: float = Field(default=60.0, gt=0)
    # Token budget for the history sent to the model; old tool outputs are cut past it.
    history_token_budget: int = Field(default=24_000, ge=1_000)
    max_output_tokens: int = Field(default=1024, ge=16)
    # Hosts web_fetch may reach. None by default: the host's own loopback services are
    # off limits unless a task (or a profile instance with its own server) allows them.
    allowed_hosts: tuple[str, ...] = ()
    loop_threshold: int = Field(default=3, ge=2)
    # Weak models often answer in prose before acting; remind them once that only tool
    # calls change the work folder.
    nudge_without_tools: bool = True
    temperature: float = 0.0
    seed: int | None = None


class ToolStep(BaseModel):
    call: ToolCall
    output: str
    ok: bool
    exit_code: int | None = None
    duration_ms: float = 0.0
    error: str | None = None


class AgentStep(BaseModel):
    index: int
    text: str = ""
    tools: list[ToolStep] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0
    source: Literal["model", "hook"] = "model"


class RunResult(BaseModel):
    run_id: str
    model: str
    status: RunStatus
    status_detail: str = ""
    final_text: str = ""
    steps: list[AgentStep] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None  # None when any call's price was unknown
    wall_ms: float = 0.0
    model_ms: float = 0.0
    work_dir: Path
    trace_path: Path | None = None
    skill_loaded: bool | None = None
    format_repairs: int = 0
    protocol: str = ""
    # Estimated tokens of the protocol's instructions and worked example in the prompt
    # (part of every request's input; reported so their cost is visible).
    example_tokens: int = 0
    # Files the run created or changed in its work folder (the skill's own files excluded).
    files_written: int = 0
    # Turns that were neither a readable action nor an answer, plus calls with unreadable
    # arguments.
    parse_failures: int = 0
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def tool_calls(self) -> int:
        return sum(len(step.tools) for step in self.steps)

    @property
    def tainted(self) -> bool:
        """Timed out, crashed or hit infrastructure errors: excluded from averages."""
        return self.status != "ok"
