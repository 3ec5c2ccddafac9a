"""The bare agent: a plain tool-calling loop over the model layer, fully traced."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
import traceback
from pathlib import Path, PurePosixPath

from skvm_core.agent.folder import changed_files, folder_state
from skvm_core.agent.history import estimate_tokens, fit_history, text_tokens
from skvm_core.agent.hooks import RuntimeHooks
from skvm_core.agent.outputs import named_missing
from skvm_core.agent.protocols import (
    ActionProtocol,
    ExampleAction,
    ProtocolDecision,
    first_action,
    grammar_capable,
    protocol_named,
    resolve_protocol,
)
from skvm_core.agent.repeats import echoes_output, near_repeat
from skvm_core.agent.repeats import signature as call_signature
from skvm_core.agent.result import AgentStep, RunLimits, RunResult, SkillMode, ToolStep
from skvm_core.agent.sandbox import sandbox_mode
from skvm_core.agent.tools import (
    LOAD_SKILL,
    READ_ONLY_TOOLS,
    TOOLS,
    ToolContext,
    ToolOutcome,
    call_tool,
)
from skvm_core.agent.toolset import select_tools
from skvm_core.agent.trace import (
    ErrorEvent,
    HookEvent,
    LlmRequest,
    LlmResponse,
    RunFinished,
    RunStarted,
    RunStatus,
    Subscriber,
    ToolCallEvent,
    ToolResultEvent,
    TraceRecorder,
)
from skvm_core.errors import InfraError, SkvmError
from skvm_core.llm import preload
from skvm_core.llm.client import CallOptions, complete
from skvm_core.llm.models import provider_of
from skvm_core.llm.scripted import session_model_id
from skvm_core.llm.types import LLMResponse, Message, ToolCall, Usage
from skvm_core.skill import Skill

TRACE_OUTPUT_CHARS = 20_000

# How long a constrained reply may get when it ran out of room inside its call.
LONGER_REPLY_MAX_TOKENS = 4096
RETRY_NUDGE = (
    "Your last actions all failed (see the errors above), so the task is not done yet. "
    "Fix the cause and act again; give the final answer only once the task is done."
)

CLOSED_NOTE = (
    "\n[note: your call kept repeating the same text, so it was cut after one copy and "
    "closed before it ran. Check the result and fix it if it is incomplete.]"
)

REPEAT_NOTE = (
    "\n[note: this call is the same as (or nearly the same as) your previous one, and so is "
    "its result. Do not repeat it: take the next step of the task.]"
)

ECHO_NOTE = (
    "Your reply repeated the output of the last command; that is not a command. The output "
    "is above. Write the next command that moves the task on, or give the final answer."
)

SYSTEM_PROMPT = """You are an autonomous agent working inside one folder, the work folder; \
every path you use is relative to it. You cannot see its files until you read them, and \
writing an answer in text does not create a file: create files with a tool or a command."""


# External harnesses send system prompts of 7k-15k tokens; on two CPU cores the first
# turn of an embedded model alone takes minutes.
LOCAL_HARNESS_TIMEOUT_S = 1800.0


def limits_for(model: str, harness: str = "bare", **overrides) -> RunLimits:
    """Defaults that fit the target: the embedded models have an 8k-token context."""
    base: dict = {}
    if provider_of(model) == "local":
        # 5k of history + 1k of reply fit the 8k context; a whole file written in one call
        # needs the 1k.
        base = {"history_token_budget": 5_000, "max_output_tokens": 1024}
        if harness != "bare":
            timeout = max(float(overrides.pop("timeout_s", 0) or 0), LOCAL_HARNESS_TIMEOUT_S)
            base["timeout_s"] = timeout
    return RunLimits(**{**base, **overrides})


def lay_bundle(skill: Skill, work_dir: Path) -> list[str]:
    """Copy the skill's bundle files into the work dir; task files already there win."""
    from skvm_core.store.beneath import UnsafePath, copy_file_beneath

    laid = []
    for bundle_file in skill.files:
        # Never through a link a setup script or the task planted (`scripts -> /host`).
        try:
            if copy_file_beneath(skill.root / bundle_file.path, work_dir, bundle_file.path):
                laid.append(bundle_file.path)
        except UnsafePath:
            continue
    return laid


# Where a discovered skill's SKILL.md is laid when the protocol offers no tool to load it
# (code-act acts only by code: it reads the file, as a CLI harness's model reads a skill).
SKILL_FILE_DIR = ".skills"


def skill_file_path(skill: Skill) -> str:
    return f"{SKILL_FILE_DIR}/{skill.name}/SKILL.md"


def _lay_skill_file(skill: Skill, work_dir: Path, relative: str) -> None:
    from skvm_core.store.beneath import UnsafePath, copy_file_beneath

    # A task that planted a link there gets no skill file, never a write through it.
    with contextlib.suppress(UnsafePath):
        copy_file_beneath(skill.root / "SKILL.md", work_dir, relative)


def system_prompt(
    skill: Skill | None,
    mode: SkillMode,
    bundle: list[str],
    acting: str = "",
    skill_file: str | None = None,
) -> str:
    """`skill_file`: in discover mode, the path the model reads the skill from instead of
    calling load_skill (a protocol without tool calls)."""
    prompt = SYSTEM_PROMPT + (f"\n\n{acting}" if acting else "")
    if skill is None:
        return prompt
    files = ""
    if bundle:
        listed = "\n".join(f"- {path}" for path in bundle[:50])
        files = f"\n\nThe skill's files are in the work folder:\n{listed}"
    if mode == "inject":
        return f"{prompt}\n\n# Skill: {skill.name}\n\n{skill.body.strip()}{files}"
    how = (
        f"if one fits the task, read its instructions before you start: cat {skill_file}"
        if skill_file
        else "call load_skill with the name to read one before you start, if it fits the task"
    )
    return f"{prompt}\n\nAvailable skills ({how}):\n- {skill.name}: {skill.description}{files}"


class BareAgent:
    name = "bare-agent"

    def __init__(
        self,
        model: str,
        *,
        options: CallOptions | None = None,
        subscribers: list[Subscriber] | None = None,
        protocol: str | ProtocolDecision = "auto",
        capabilities: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.options = options
        self.subscribers = list(subscribers or [])
        # How the target acts; `auto` reads the target's profile (see protocols/auto.py).
        self.protocol = (
            protocol
            if isinstance(protocol, ProtocolDecision)
            else resolve_protocol(protocol, model, capabilities)
        )

    async def run(
        self,
        prompt: str,
        work_dir: Path,
        skill: Skill | None = None,
        limits: RunLimits | None = None,
        hooks: RuntimeHooks | None = None,
        *,
        skill_mode: SkillMode = "inject",
        run_id: str = "run",
        trace_path: Path | None = None,
    ) -> RunResult:
        limits = limits or limits_for(self.model)
        # The model layer's one-time import (seconds on small machines) is start-up, not
        # part of the first run's time or timeout.
        await asyncio.to_thread(preload)
        work_dir = Path(work_dir).resolve()
        work_dir.mkdir(parents=True, exist_ok=True)
        recorder = TraceRecorder(run_id, trace_path, self.subscribers)
        run = _Run(self, prompt, work_dir, skill, limits, hooks, skill_mode, recorder)
        try:
            return await run.execute()
        finally:
            recorder.close()


class _Run:
    """State of one run; `execute` is the loop."""

    def __init__(
        self,
        agent: BareAgent,
        prompt,
        work_dir,
        skill,
        limits,
        hooks,
        skill_mode,
        recorder: TraceRecorder,
    ) -> None:
        self.agent = agent
        self.prompt = prompt
        self.work_dir = work_dir
        self.skill = skill
        self.limits: RunLimits = limits
        self.hooks = hooks
        self.mode = skill_mode
        self.recorder = recorder
        self.started = time.perf_counter()
        self.step = 0
        self.steps: list[AgentStep] = []
        self.usage = Usage()
        self.cost: float | None = 0.0
        self.model_ms = 0.0
        self.repairs = 0
        self.options = agent.options or CallOptions(
            temperature=limits.temperature, max_tokens=limits.max_output_tokens, seed=limits.seed
        )
        self.ctx = ToolContext(
            work_dir=work_dir,
            command_timeout_s=limits.command_timeout_s,
            allowed_hosts=tuple(limits.allowed_hosts),
            sandbox=sandbox_mode(),
            skill_body=skill.body if skill else None,
            skill_name=skill.name if skill else None,
            skill_loaded=skill is not None and skill_mode == "inject",
        )
        self.protocol: ActionProtocol = protocol_named(agent.protocol.protocol)
        self.selection = select_tools(
            skill.source if skill else None, prompt, tuple(limits.allowed_hosts)
        )
        self.tools = {name: TOOLS[name] for name in self.selection.names}
        if skill is not None and skill_mode == "discover":
            self.tools["load_skill"] = LOAD_SKILL
        available = [schema for schema, _ in self.tools.values()]
        self.schemas = self.protocol.offered_tools(available)
        offers_loader = any(schema.name == LOAD_SKILL[0].name for schema in self.schemas)
        self.skill_file = (
            skill_file_path(skill)
            if skill is not None and skill_mode == "discover" and not offers_loader
            else None
        )
        # What a read of the laid file must print for the read to count as the load.
        self.skill_first_line = next(
            (line.strip() for line in (skill.body if skill else "").splitlines() if line.strip()),
            "",
        )
        capable = grammar_capable(agent.model)
        decoding = self.protocol.decoding(available, grammar_capable=capable)
        # After a reminder that nothing is done yet, the next reply must be an action: the
        # grammar leaves out the way to finish (where the model is decoded under one).
        act_only = self.protocol.decoding(available, grammar_capable=capable, may_finish=False)
        self.act_options = dataclasses.replace(self.options, decoding=act_only)
        self.options = dataclasses.replace(self.options, decoding=decoding)
        self.must_act = False
        if self.skill_file is not None:
            self.example = ExampleAction(
                thought="First I read the skill's instructions.",
                tool="read_file",
                arguments={"path": self.skill_file},
                source="the discoverable skill",
            )
        else:
            # A skill not yet loaded shows nothing of its body, not even its first command.
            shown = skill.body if skill is not None and skill_mode == "inject" else None
            self.example = first_action(shown, prompt, work_dir)
        self.acting = self.protocol.instructions(self.schemas, self.example)
        self.parse_failures = 0
        self.initial_files: dict[str, tuple[int, int]] = {}

    def emit(self, event) -> None:
        event.t_ms = (time.perf_counter() - self.started) * 1000
        event.step = self.step
        self.recorder.emit(event)

    async def execute(self) -> RunResult:
        status: RunStatus = "ok"
        detail = ""
        final_text = ""
        model = session_model_id(self.agent.model)
        bundle = lay_bundle(self.skill, self.work_dir) if self.skill else []
        if self.skill is not None and self.skill_file is not None:
            _lay_skill_file(self.skill, self.work_dir, self.skill_file)
        self.initial_files = folder_state(self.work_dir)
        messages: list[Message] = [
            {
                "role": "system",
                "content": system_prompt(
                    self.skill, self.mode, bundle, self.acting, self.skill_file
                ),
            },
            {"role": "user", "content": self.prompt},
        ]
        self.emit(
            RunStarted(
                run_id=self.recorder.run_id,
                model=self.agent.model,
                prompt=self.prompt,
                work_dir=str(self.work_dir),
                skill=self.skill.name if self.skill else None,
                skill_mode=self.mode if self.skill else None,
                sandbox=self.ctx.sandbox.kind if self.ctx.sandbox else "",
                limits=self.limits.model_dump(mode="json"),
                protocol=self.protocol.name,
                protocol_reason=self.agent.protocol.describe(),
                tools=[schema.name for schema in self.schemas],
                tools_reason=self.selection.reason,
                example={
                    "tool": self.example.tool,
                    "arguments": self.example.arguments,
                    "source": self.example.source,
                    "tokens": text_tokens(self.acting),
                },
            )
        )
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                final_text, detail = await self._loop(model, messages)
        except TimeoutError:
            status, detail = "timeout", f"wall-clock limit of {self.limits.timeout_s:g} s reached"
        except InfraError as exc:
            status, detail = "infra-error", exc.message
            self.emit(ErrorEvent(run_id=self.recorder.run_id, kind="infra", message=exc.message))
        except SkvmError as exc:
            status, detail = "crashed", exc.message
            self.emit(ErrorEvent(run_id=self.recorder.run_id, kind="model", message=str(exc)))
        except asyncio.CancelledError:
            self._finish("crashed", "cancelled", final_text)
            raise
        except Exception as exc:  # a harness bug must still end the run cleanly and visibly
            status, detail = "crashed", f"{type(exc).__name__}: {exc}"
            self.emit(
                ErrorEvent(
                    run_id=self.recorder.run_id,
                    kind="crash",
                    message="".join(traceback.format_exception(exc))[-4000:],
                )
            )
        result = self._finish(status, detail, final_text)
        if self.hooks is not None:
            await self._hook("after_run", self.hooks.after_run(result))
        return result

    def _folder_changed(self) -> bool:
        """Whether any file was created, changed or removed since the run started (the
        skill's own files, laid out before that, do not count)."""
        return folder_state(self.work_dir) != self.initial_files

    def _finish(self, status: RunStatus, detail: str, final_text: str) -> RunResult:
        wall_ms = (time.perf_counter() - self.started) * 1000
        self.emit(
            RunFinished(
                run_id=self.recorder.run_id,
                status=status,
                detail=detail,
                final_text=final_text,
                steps=len(self.steps),
                usage=self.usage,
                cost_usd=self.cost,
                wall_ms=wall_ms,
                model_ms=self.model_ms,
            )
        )
        return RunResult(
            run_id=self.recorder.run_id,
            model=self.agent.model,
            status=status,
            status_detail=detail,
            final_text=final_text,
            steps=self.steps,
            usage=self.usage,
            cost_usd=self.cost,
            wall_ms=wall_ms,
            model_ms=self.model_ms,
            work_dir=self.work_dir,
            trace_path=self.recorder.path,
            skill_loaded=self.ctx.skill_loaded if self.skill else None,
            format_repairs=self.repairs,
            protocol=self.protocol.name,
            parse_failures=self.parse_failures,
            example_tokens=text_tokens(self.acting),
            files_written=len(changed_files(self.initial_files, folder_state(self.work_dir))),
        )

    async def _loop(self, model: str, messages: list[Message]) -> tuple[str, str]:
        last_signature, repeats = "", 0
        last_outputs: list[str] = []
        echo_told = False
        last_text = ""
        nudged = not self.limits.nudge_without_tools
        retry_nudged = nudged
        owed_nudged = nudged
        for step_number in range(1, self.limits.max_steps + 1):
            self.step = step_number
            response = await self._ask(model, messages)
            turn = self.protocol.interpret(response)
            if turn.problem is not None and self._cut_under_grammar(response):
                # The grammar holds the reply's shape; only the output budget ran out inside
                # the call (a long file written in one go). Ask once more with room for it.
                self.emit(
                    HookEvent(
                        run_id=self.recorder.run_id,
                        hook="longer",
                        detail="the reply reached the output limit inside its call; asked again with twice the room",
                    )
                )
                response = await self._ask(model, messages, longer=True)
                turn = self.protocol.interpret(response)
            self.must_act = False
            if turn.repair is not None:
                self.emit(HookEvent(run_id=self.recorder.run_id, hook="closed", detail=turn.repair))
            last_text = turn.final if turn.final is not None else response.text
            messages.append(self.protocol.assistant_message(response, turn))
            step = AgentStep(
                index=self.step,
                text=response.text,
                usage=response.usage,
                latency_ms=response.latency_ms,
            )
            self.steps.append(step)
            self.parse_failures += sum(1 for c in turn.calls if c.arguments_error)
            if turn.problem is not None:
                # Neither an action nor an answer (a reply cut off inside its call): say
                # what was wrong and ask again; it costs a step, so it cannot loop forever.
                self.parse_failures += 1
                messages.append(
                    {
                        "role": "user",
                        "content": f"Your reply could not be run: {turn.problem}. Reply again with one complete action.",
                    }
                )
                self.emit(HookEvent(run_id=self.recorder.run_id, hook="reask", detail=turn.problem))
                continue
            if not turn.calls:
                # Weak models stop at the first text answer: before anything was done, or
                # right after their commands failed (they describe the fix instead of doing
                # it). Each case gets one reminder per run.
                final = turn.final or ""
                acted = [s for s in self.steps if s.tools]
                failed_last = bool(acted) and not any(t.ok for t in acted[-1].tools)
                # Reading is not doing: a model that looked at the input and then answers
                # has changed nothing (weak models describe the result instead of writing
                # it). The folder itself says whether anything was made, whatever the tool.
                changed = self._folder_changed()
                owed = [] if changed else named_missing(self.prompt, self.work_dir)
                if self.step == self.limits.max_steps:
                    return final, ""
                if failed_last and not retry_nudged:
                    retry_nudged = True
                    reminder, detail = (
                        RETRY_NUDGE,
                        "stopped after failed actions; reminded once to fix and retry",
                    )
                elif not changed and (not nudged or (owed and not owed_nudged)):
                    # A second reminder only when the task names files still missing, and
                    # it names them: the general one did not get the model to act.
                    owed_nudged = nudged
                    nudged = True
                    reminder = self.protocol.no_action_reminder()
                    if owed:
                        listed = ", ".join(owed)
                        reminder = (
                            f"The task asks for {listed}, not in the work folder yet. {reminder}"
                        )
                    reminder, detail = (
                        reminder,
                        "answered before changing anything; reminded to act"
                        + (f" (still missing: {', '.join(owed)})" if owed else ""),
                    )
                else:
                    return final, ""
                messages.append({"role": "user", "content": reminder})
                self.emit(HookEvent(run_id=self.recorder.run_id, hook="nudge", detail=detail))
                self.must_act = True
                continue
            signature = call_signature(turn.calls)
            echoed = echoes_output(turn.calls, last_outputs)
            again = echoed or near_repeat(last_signature, signature)
            repeats = repeats + 1 if again else 1
            last_signature = signature
            if repeats >= self.limits.loop_threshold:
                message = f"stopped: the same action was repeated {repeats} times in a row"
                self.emit(ErrorEvent(run_id=self.recorder.run_id, kind="loop", message=message))
                return last_text, message
            if echoed:
                # Not an action: running the echoed output would fail with a longer output,
                # and the model would echo that. Say once what went wrong.
                if not echo_told:
                    self.emit(
                        HookEvent(
                            run_id=self.recorder.run_id,
                            hook="echo",
                            detail="the reply repeated the last output instead of acting; told so",
                        )
                    )
                    echo_told = True
                messages.append({"role": "assistant", "content": response.text or ""})
                messages.append({"role": "user", "content": ECHO_NOTE})
                continue
            outcomes = await self._run_tools(turn.calls, step)
            last_outputs = [o.output for o in outcomes]
            if turn.repair is not None:
                outcomes = [dataclasses.replace(o, output=o.output + CLOSED_NOTE) for o in outcomes]
            if repeats == self.limits.loop_threshold - 1:
                # The real result still goes back, with a word that repeating gets nowhere:
                # small models re-run the example or their last read instead of moving on.
                outcomes = [dataclasses.replace(o, output=o.output + REPEAT_NOTE) for o in outcomes]
                self.emit(
                    HookEvent(
                        run_id=self.recorder.run_id,
                        hook="repeat",
                        detail="same action as the previous step; told to move on",
                    )
                )
            messages.extend(self.protocol.result_messages(turn.calls, outcomes))
        return last_text, f"stopped: reached the step limit ({self.limits.max_steps})"

    def _options(self, longer: bool) -> CallOptions:
        options = self.act_options if self.must_act else self.options
        if longer and options.max_tokens:
            options = dataclasses.replace(
                options, max_tokens=min(LONGER_REPLY_MAX_TOKENS, options.max_tokens * 2)
            )
        return options

    def _cut_under_grammar(self, response: LLMResponse) -> bool:
        options = self.act_options if self.must_act else self.options
        return (
            response.finish_reason == "length"
            and options.decoding is not None
            and options.decoding.grammar is not None
        )

    async def _ask(self, model: str, messages: list[Message], longer: bool = False) -> LLMResponse:
        history, cuts = fit_history(messages, self.limits.history_token_budget)
        self.emit(
            LlmRequest(
                run_id=self.recorder.run_id,
                messages=len(history),
                tokens_estimate=sum(estimate_tokens(m) for m in history),
                truncated_outputs=cuts,
            )
        )
        response: LLMResponse | None = None
        if self.hooks is not None:
            response = await self._hook("before_llm", self.hooks.before_llm(self.step, history))
        source = "hook" if response is not None else "model"
        if response is None:

            def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
                self.emit(
                    ErrorEvent(
                        run_id=self.recorder.run_id,
                        kind="retry",
                        message=f"attempt {attempt} failed ({type(exc).__name__}); retrying in {delay:.1f} s",
                    )
                )

            response = await complete(
                model,
                history,
                self.schemas,
                options=self._options(longer),
                on_retry=on_retry,
            )
            self.model_ms += response.latency_ms
            self.usage = self.usage + response.usage
            self.cost = (
                None
                if self.cost is None or response.cost_usd is None
                else self.cost + response.cost_usd
            )
            self.repairs += len([r for r in response.format_repairs if r != "native"])
        else:
            self.emit(
                HookEvent(
                    run_id=self.recorder.run_id,
                    hook="before_llm",
                    detail="answered instead of the model",
                )
            )
        self.emit(LlmResponse.of(self.recorder.run_id, response, source=source))
        if self.hooks is not None:
            await self._hook("after_llm", self.hooks.after_llm(self.step, response))
        return response

    async def _run_tools(self, calls: list[ToolCall], step: AgentStep) -> list[ToolOutcome]:
        for call in calls:
            self.emit(
                ToolCallEvent(
                    run_id=self.recorder.run_id,
                    call_id=call.id,
                    name=call.name,
                    arguments=call.arguments,
                )
            )
        # A call identical to an earlier one of the same turn is not run again (weak models
        # repeat whole batches; appending the same line twice is never what they meant).
        # A read repeated after a change in the same turn is a new read, not a repeat.
        keys, changes = [], 0
        for c in calls:
            read_only = c.name in READ_ONLY_TOOLS
            keys.append(
                json.dumps([c.name, c.arguments, changes if read_only else -1], sort_keys=True)
            )
            changes += not read_only
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        ran: dict[int, ToolOutcome] = {}
        for batch in _ordered_batches(calls, sorted(set(first.values()))):
            # A task group: a cancelled turn ends only once each of its calls has.
            async with asyncio.TaskGroup() as group:
                running = [group.create_task(self._run_tool(calls[i])) for i in batch]
            ran.update(zip(batch, (t.result() for t in running), strict=True))
        outcomes = [
            ran.get(index)
            or ToolOutcome(
                f"not run: same as call {calls[first[key]].id} of this turn (result above)"
            )
            for index, key in enumerate(keys)
        ]
        for call, outcome in zip(calls, outcomes, strict=True):
            self.emit(
                ToolResultEvent(
                    run_id=self.recorder.run_id,
                    call_id=call.id,
                    name=call.name,
                    output=outcome.output[:TRACE_OUTPUT_CHARS],
                    ok=outcome.ok,
                    exit_code=outcome.exit_code,
                    duration_ms=outcome.duration_ms,
                    truncated=outcome.truncated,
                    error=outcome.error,
                )
            )
            step.tools.append(
                ToolStep(
                    call=call,
                    output=outcome.output[:TRACE_OUTPUT_CHARS],
                    ok=outcome.ok,
                    exit_code=outcome.exit_code,
                    duration_ms=outcome.duration_ms,
                    error=outcome.error,
                )
            )
            if self._reads_skill_file(call, outcome):
                self.ctx.skill_loaded = True
            if self.hooks is not None:
                await self._hook("after_tool", self.hooks.after_tool(self.step, call, outcome))
        return outcomes

    def _reads_skill_file(self, call: ToolCall, outcome: ToolOutcome) -> bool:
        """A successful command or read that named the laid SKILL.md and printed its body."""
        if self.skill is None or self.skill_file is None or not outcome.ok:
            return False
        named = any(self.skill_file in str(value) for value in call.arguments.values())
        return named and self.skill_first_line in outcome.output

    async def _run_tool(self, call: ToolCall) -> ToolOutcome:
        if call.arguments_error:
            message = f"your call to {call.name} had unreadable arguments ({call.arguments_error}); send it again with a JSON object"
            return ToolOutcome(f"error: {message}", ok=False, error=message)
        entry = self.tools.get(call.name)
        if entry is None:
            message = f"unknown tool {call.name!r}; available: {', '.join(self.tools)}"
            return ToolOutcome(f"error: {message}", ok=False, error=message)
        return await call_tool(call.name, entry[1], self.ctx, call.arguments)

    async def _hook(self, name: str, awaitable):
        try:
            return await awaitable
        except Exception as exc:  # a faulty hook must not take the run down
            self.emit(
                HookEvent(
                    run_id=self.recorder.run_id,
                    hook=name,
                    detail=f"hook failed: {type(exc).__name__}: {exc}",
                )
            )
            return None


def _footprint(call: ToolCall) -> tuple[frozenset[str], frozenset[str]] | None:
    """The paths a call reads and writes, or None when it may touch anything (a command)."""
    if call.name == "execute_command":
        return None
    path = call.arguments.get("path") if isinstance(call.arguments, dict) else None
    where = frozenset({str(PurePosixPath(str(path or ".")))})
    if call.name in READ_ONLY_TOOLS:
        return where if call.name in ("read_file", "list_directory") else frozenset(), frozenset()
    return frozenset(), where  # write_file and any other tool naming one path


def _conflicts(a: tuple, b: tuple) -> bool:
    reads_a, writes_a = a
    reads_b, writes_b = b

    # A listing reads its folder: a write beneath it changes what it shows.
    def touches(paths, others):
        return any(
            p == o or o.startswith(p.rstrip("/") + "/") or p in (".", "")
            for p in paths
            for o in others
        )

    return touches(writes_a, writes_b) or touches(reads_a, writes_b) or touches(reads_b, writes_a)


def _ordered_batches(calls: list[ToolCall], indices: list[int]) -> list[list[int]]:
    """Calls of one turn in batches that run concurrently, in the order they were asked.
    Reads and writes of disjoint paths share a batch; a call that reads or writes a path
    another call of the batch writes starts a new one, after it, and a command (which may
    touch anything) runs alone. So a read always sees what an earlier call of the turn wrote."""
    batches: list[list[int]] = []
    prints: list[list[tuple] | None] = []
    for index in indices:
        mine = _footprint(calls[index])
        fits = (
            mine is not None
            and batches
            and prints[-1] is not None
            and not any(_conflicts(mine, other) for other in prints[-1])
        )
        if fits:
            batches[-1].append(index)
            prints[-1].append(mine)
        else:
            batches.append([index])
            prints.append([mine] if mine is not None else None)
    return batches
