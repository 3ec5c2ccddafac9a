"""Trigger runs: does the target load the skill when it is offered, not given?

The skill is offered the way each harness offers skills (our agent: its name and
description, and a `load_skill` tool; an external CLI: installed where it discovers skills).
A run needs only the model's first turns, so the step limit is low and the run is stopped
as soon as the skill's body reaches the model. The trace decides: a tool call that names
the skill (our `load_skill`, OpenCode's `skill`, or a read of its SKILL.md) whose result
holds the body is a load. Each run is one record file, so an interrupted eval continues
where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from skvm_core.agent.hooks import NoHooks
from skvm_core.agent.protocols.constrained import FINISH
from skvm_core.bench.trigger_prompts import TriggerPrompt
from skvm_core.errors import SkvmError
from skvm_core.llm.types import LLMResponse, ToolCall
from skvm_core.skill import Skill
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.names import folder_name
from skvm_core.store.workspace import Workspace

# Tools whose only purpose is to hand a skill's body to the model: ours and OpenCode's.
LOADER_TOOLS = frozenset({"load_skill", "skill", "Skill"})  # ours, OpenCode, Claude Code
SNIPPET_CHARS = 60
ENDED = "(trigger eval: the skill was loaded; the run ends here)"

Progress = Callable[[str], None]


class TriggerOptions(BaseModel):
    runs: int = Field(default=1, ge=1, le=20)
    seed: int = 0  # run k samples with seed*1000 + k
    max_steps: int = Field(default=3, ge=1, le=10)
    temperature: float = Field(default=0.7, ge=0, le=2)


class TriggerRecord(BaseModel):
    prompt_id: str
    should_trigger: bool
    source: str
    target: str
    harness: str
    run: int
    key: str  # the offered skill (name, description) and the options
    loaded: bool  # the skill's body reached the model
    attempted: bool  # the model asked for a skill (delivered or not)
    status: str  # "loaded" (stopped there) or the run's own status
    tainted: bool  # ended without a load by a timeout, crash or infrastructure error
    steps: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    trace: str | None = None
    detail: str = ""


def offer_key(skill: Skill, options: TriggerOptions) -> str:
    """What a trigger result depends on: what the harness shows of the skill, and how the
    target is sampled (the body matters only after a load)."""
    text = "\0".join(
        [
            skill.name,
            skill.description,
            str(options.max_steps),
            f"{options.temperature:g}",
            str(options.seed),
        ]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def names_skill(tool: str, arguments: Any, skill_name: str) -> bool:
    """A call that asks for this skill: a loader tool given its name, or any tool given a
    path to its SKILL.md (a CLI that reads skills as files)."""
    values = list(_strings(arguments))
    if tool in LOADER_TOOLS and skill_name in (v.strip() for v in values):
        return True
    return any(f"{skill_name}/SKILL.md" in v for v in values)


def body_snippet(skill: Skill) -> str:
    """A line of the body that a delivered load must contain."""
    for line in skill.body.splitlines():
        if line.strip():
            return line.strip()[:SNIPPET_CHARS]
    return ""


class LoadWatch:
    """A trace subscriber that sees the load happen; `seen` is set when it has."""

    def __init__(self, skill: Skill) -> None:
        self.name = skill.name
        self.snippet = body_snippet(skill)
        self.attempted = False
        self.loaded = False
        self.pending: set[str] = set()
        self.seen = asyncio.Event()
        self.steps = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.status = ""
        self.detail = ""

    def __call__(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "llm_response":
            if event.source == "model":
                self.steps += 1
                self.tokens_in += event.usage.input
                self.tokens_out += event.usage.output
            # A served turn of an external CLI shows the call before the CLI runs it.
            if any(
                c.name in LOADER_TOOLS or names_skill(c.name, c.arguments, self.name)
                for c in event.tool_calls
            ):
                self.attempted = True
        elif kind == "tool_call":
            if event.name in LOADER_TOOLS:
                self.attempted = True
            if names_skill(event.name, event.arguments, self.name):
                self.attempted = True
                self.pending.add(event.call_id)
        elif kind == "tool_result" and event.call_id in self.pending:
            if event.ok and self.snippet in event.output:
                self.loaded = True
                self.seen.set()
        elif kind == "run_finished":
            self.status, self.detail = event.status, event.detail


class _EndOnceLoaded(NoHooks):
    """Ends our agent's run at the turn after the load, without a model call: the hook
    answers in the model's place, the way the run's protocol finishes."""

    def __init__(self, watch: LoadWatch, protocol: str) -> None:
        self.watch = watch
        self.protocol = protocol

    async def before_llm(self, step: int, messages: list) -> LLMResponse | None:
        if not self.watch.loaded:
            return None
        if self.protocol == "constrained":  # under the grammar only `finish` ends a run
            call = ToolCall(id="trigger-end", name=FINISH.name, arguments={"answer": ENDED})
            return LLMResponse(model="trigger-eval", tool_calls=[call])
        return LLMResponse(model="trigger-eval", text=ENDED)


async def run_trigger(
    skill: Skill,
    prompt: TriggerPrompt,
    target: str,
    harness_name: str,
    run: int,
    options: TriggerOptions,
    workspace: Workspace,
    *,
    subscribers: list[Any] | None = None,
) -> TriggerRecord:
    """One prompt once on one target in one harness, the skill offered in discover mode."""
    from skvm_core.agent.bare import limits_for
    from skvm_core.harness import get_harness
    from skvm_core.profile.store import target_protocol

    harness = get_harness(harness_name)
    # Our agent stops at its step limit; an external CLI is stopped by the model server
    # after the turn past it, so one less there serves the same number of turns.
    steps = options.max_steps if harness_name == "bare" else max(1, options.max_steps - 1)
    limits = limits_for(
        target,
        harness=harness_name,
        max_steps=steps,
        # A reminder to act would push the model on; a trigger eval wants its own choice.
        nudge_without_tools=False,
        temperature=options.temperature,
        seed=options.seed * 1000 + run,
    )
    protocol = target_protocol(target, "auto", workspace) if harness_name == "bare" else None
    run_id = workspace.new_run_id(f"trigger-{skill.name}")
    trace_path = workspace.run_dir(run_id) / "trace.jsonl"
    work_dir = Path(tempfile.mkdtemp(prefix="skvm-trigger-"))
    watch = LoadWatch(skill)
    started = time.perf_counter()
    detail = ""
    subscribers = [watch, *(subscribers or [])]
    if harness_name == "bare":
        from skvm_core.agent.bare import BareAgent

        agent = BareAgent(target, subscribers=subscribers, protocol=protocol or "auto")
        running = asyncio.ensure_future(
            agent.run(
                prompt.text,
                work_dir,
                skill,
                limits,
                _EndOnceLoaded(watch, agent.protocol.protocol),
                skill_mode="discover",
                run_id=run_id,
                trace_path=trace_path,
            )
        )
    else:
        running = asyncio.ensure_future(
            harness.run(
                target,
                prompt.text,
                work_dir,
                skill,
                limits,
                run_id=run_id,
                trace_path=trace_path,
                subscribers=subscribers,
                skill_mode="discover",
            )
        )
    seen = asyncio.ensure_future(watch.seen.wait())
    try:
        await asyncio.wait({running, seen}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done() and harness_name != "bare":
            # Loaded: the CLI's further turns would only cost time; ending it kills its
            # process tree (our agent ends itself at its next turn, see _EndOnceLoaded).
            running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    except SkvmError as exc:  # one failed run is a tainted record, not a failed eval
        detail = str(exc)
    finally:
        seen.cancel()
        if not running.done():
            running.cancel()
        shutil.rmtree(work_dir, ignore_errors=True)
    status = "loaded" if watch.loaded else (watch.status or ("infra-error" if detail else "ok"))
    return TriggerRecord(
        prompt_id=prompt.id,
        should_trigger=prompt.should_trigger,
        source=prompt.source,
        target=target,
        harness=harness_name,
        run=run,
        key=offer_key(skill, options),
        loaded=watch.loaded,
        attempted=watch.attempted or watch.loaded,
        status=status,
        tainted=not watch.loaded and status not in ("ok", "loaded"),
        steps=watch.steps,
        tokens_in=watch.tokens_in,
        tokens_out=watch.tokens_out,
        wall_s=round(time.perf_counter() - started, 3),
        trace=str(trace_path) if trace_path.exists() else None,
        detail=(detail or watch.detail)[:500],
    )


class TriggerStore:
    """One JSON file per run under `root`: what is there is not run again."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str, target: str, harness: str, prompt_id: str, run: int) -> Path:
        return (
            self.root / "records" / key / folder_name(target) / folder_name(harness)
            / f"{folder_name(prompt_id)}-{run}.json"
        )  # fmt: skip

    def get(
        self, key: str, target: str, harness: str, prompt_id: str, run: int
    ) -> TriggerRecord | None:
        path = self.path(key, target, harness, prompt_id, run)
        try:
            return TriggerRecord.model_validate_json(path.read_text("utf-8"))
        except (OSError, ValueError, ValidationError):
            return None  # missing or torn: run it (again)

    def put(self, record: TriggerRecord) -> None:
        path = self.path(record.key, record.target, record.harness, record.prompt_id, record.run)
        atomic_write_text(path, record.model_dump_json(indent=2))


async def run_triggers(
    skill: Skill,
    prompts: list[TriggerPrompt],
    targets: list[str],
    harnesses: list[str],
    options: TriggerOptions,
    store: TriggerStore,
    workspace: Workspace,
    *,
    progress: Progress | None = None,
) -> list[TriggerRecord]:
    """Every prompt × run on every target × harness, one at a time (a local model serves
    one request at a time anyway); finished runs are read back, not repeated."""
    key = offer_key(skill, options)
    records: list[TriggerRecord] = []
    total = len(targets) * len(harnesses) * len(prompts) * options.runs
    for target in targets:
        for harness in harnesses:
            for prompt in prompts:
                for run in range(options.runs):
                    record = store.get(key, target, harness, prompt.id, run)
                    if record is None:
                        record = await run_trigger(
                            skill, prompt, target, harness, run, options, workspace
                        )
                        store.put(record)
                        if progress:
                            kind = "should" if prompt.should_trigger else "should not"
                            progress(
                                f"[{len(records) + 1}/{total}] {target} · {harness} · {kind} · "
                                f"{'loaded' if record.loaded else record.status} · {prompt.text[:60]}"
                            )
                    records.append(record)
    return records
