"""What every external CLI harness shares: a model server on loopback, a private home
folder for the CLI's config and state, the skill installed where the CLI looks, the CLI run
under a time limit with its transcript converted into trace events as it streams, and a
result whose figures come from the server (exact) or the CLI (as reported)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from abc import abstractmethod
from pathlib import Path

from skvm_core.agent.folder import changed_files, folder_state
from skvm_core.agent.result import RunLimits, RunResult
from skvm_core.agent.sandbox import ENV_ALLOWLIST, confined_program, sandbox_mode, shim_path
from skvm_core.agent.trace import (
    ErrorEvent,
    LlmRequest,
    LlmResponse,
    RunFinished,
    RunStarted,
    RunStatus,
    TraceRecorder,
)
from skvm_core.harness.base import HarnessAdapter
from skvm_core.harness.guard import TurnGuard
from skvm_core.harness.install import CLIS, harness_dir, require_cli
from skvm_core.harness.process import run_cli
from skvm_core.harness.transcript import Transcript
from skvm_core.llm.client import CallOptions
from skvm_core.llm.models import provider_of
from skvm_core.llm.types import Usage
from skvm_core.serve import ModelServer, ServedCall
from skvm_core.store.atomic import atomic_write_text

SERVED_NAME = "skvm-model"
# Where a confined CLI sees its work folder and its home. Both CLIs write these paths into
# their system prompts, ahead of their tool lists; the same paths on every run make that
# prompt identical across runs of a skill, so a local model's saved prompt state serves the
# next run instead of re-reading a 6–7k-token first turn (minutes on a CPU).
WORK_IN_SANDBOX = Path("/workspace")
HOME_IN_SANDBOX = Path("/home/agent")
MODEL_CALLS = "model-calls.jsonl"
TRANSCRIPT = "transcript.jsonl"


class ExternalHarness(HarnessAdapter):
    transcript_class: type[Transcript]
    # Every CLI runs inside our sandbox (bubblewrap, where available), so its tools cannot
    # write outside the work folder and it sees stable paths; one with a sandbox of its
    # own keeps that too, and where ours is unavailable has only its own.
    confine: bool = True
    own_sandbox: bool = False

    def cli(self) -> Path:
        return require_cli(self.name)

    def confined(self) -> bool:
        return self.confine and sandbox_mode().kind == "bubblewrap"

    def _sandbox_note(self) -> str:
        if self.confined():
            where = f"inside bubblewrap, the work folder seen as {WORK_IN_SANDBOX}"
        else:
            where = "its own sandbox only" if self.own_sandbox else "unconfined"
        return f"{self.name} {self.version}, its own tools, {where}"

    @property
    def version(self) -> str:
        return CLIS[self.name].version if self.name in CLIS else "?"

    @abstractmethod
    def configure(self, home: Path, work_dir: Path, base_url: str, limits: RunLimits) -> None:
        """Write the CLI's config (provider = our server) into its private home (`home`, a
        host path); `work_dir` is the work folder as the CLI sees it."""

    @abstractmethod
    def command(self, cli: Path, prompt: str, work_dir: Path) -> list[str]: ...

    def environment(self, home: Path) -> dict[str, str]:
        """No API keys, no user config: only harmless variables, a private home (as the
        CLI sees it), and the folder with node and the CLI on PATH."""
        env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
        env.update(
            PATH=f"{self.cli().parent}:{os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin')}",
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_STATE_HOME=str(home / ".local" / "state"),
            TMPDIR=str(home / "tmp"),
            # Packages a CLI fetches at start (OpenCode's plugin SDK) come from one cache
            # shared by every run, so the network is asked once, not per run.
            npm_config_cache=str(shared_npm_cache()),
            LANG=env.get("LANG", "C.UTF-8"),
            NO_COLOR="1",
        )
        return env

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
        cli = self.cli()
        work_dir = Path(work_dir).resolve()
        work_dir.mkdir(parents=True, exist_ok=True)
        home = (trace_path.parent if trace_path else work_dir.parent) / f"{self.name}-home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        confined = self.confined()
        seen_work, seen_home = (WORK_IN_SANDBOX, HOME_IN_SANDBOX) if confined else (work_dir, home)
        if skill is not None:
            self.install_skill(skill, work_dir)
        initial = folder_state(work_dir)
        recorder = TraceRecorder(run_id, trace_path, subscribers)
        started = time.perf_counter()

        turns = _ServedTurns(
            run_id, recorder, (trace_path.parent if trace_path else home), TurnGuard(limits)
        )
        emit = turns.emit
        transcript = self.transcript_class(run_id, emit, text_events=False)
        # The CLI's own transcript, kept as it printed it (converted events are in the trace).
        raw_log = ((trace_path.parent if trace_path else home) / TRANSCRIPT).open(
            "a", encoding="utf-8"
        )

        def on_line(line: str) -> None:
            raw_log.write(line if line.endswith("\n") else line + "\n")
            transcript.feed(line)

        # An in-process model works one request at a time: a call it has not answered in
        # time is still being computed, so a retry only queues behind it. Its calls get the
        # run's whole time limit, once (a harness prompt of 10k tokens takes minutes on a CPU).
        local = provider_of(model) == "local"
        server = ModelServer(
            model,
            options=CallOptions(
                temperature=limits.temperature,
                seed=limits.seed,
                max_tokens=max(limits.max_output_tokens, 2048),
                **({"timeout_s": limits.timeout_s, "max_retries": 0} if local else {}),
            ),
            served_name=SERVED_NAME,
            on_call=turns.on_call,
        )
        emit(
            RunStarted(
                run_id=run_id,
                model=model,
                prompt=prompt,
                work_dir=str(work_dir),
                skill=skill.name if skill else None,
                skill_mode="discover" if skill else None,
                sandbox=self._sandbox_note(),
                limits=limits.model_dump(mode="json"),
                protocol="native",
                protocol_reason=f"{self.name} calls tools its own way",
            )
        )
        status: RunStatus = "ok"
        detail = ""
        try:
            async with server:
                self.configure(home, seen_work, server.base_url, limits)
                argv = self.command(cli, prompt, seen_work)
                if confined:
                    npm_cache = shared_npm_cache()
                    argv = confined_program(
                        argv,
                        binds=((work_dir, seen_work), (home, seen_home), (npm_cache, npm_cache)),
                        readable=(cli.parent.parent.parent,),
                        chdir=seen_work,
                    )
                env = self.environment(seen_home)
                if shims := shim_path(in_bubblewrap=confined):
                    env["PATH"] += f":{shims}"  # `python` where the system has only python3
                outcome = await run_cli(
                    argv, work_dir, env, limits.timeout_s, on_line, stop=turns.stop
                )
        except BaseException:
            recorder.close()
            raise
        finally:
            raw_log.close()
            _drop_installed_packages(home)
        if outcome.timed_out:
            status, detail = "timeout", f"wall-clock limit of {limits.timeout_s:g} s reached"
        elif outcome.stopped:  # a limit our agent keeps too: the run ends as ours would
            detail = turns.guard.reason or "stopped"
        elif outcome.exit_code != 0:
            status = "crashed"
            detail = f"{self.name} exited with {outcome.exit_code}: {outcome.stderr.strip()[-300:]}"
        failed_calls = [c for c in server.calls if c.error]
        if failed_calls and status == "ok" and not any(c.response for c in server.calls):
            status, detail = "crashed", f"every model call failed: {failed_calls[-1].error}"
        if status != "ok":
            emit(ErrorEvent(run_id=run_id, kind=status, message=detail))
        usage, cost, known = _figures(server.calls, transcript)
        wall_ms = (time.perf_counter() - started) * 1000
        model_ms = sum(c.latency_ms for c in server.calls)
        emit(
            RunFinished(
                run_id=run_id,
                status=status,
                detail=detail,
                final_text=transcript.final_text,
                steps=len(transcript.steps),
                usage=usage,
                cost_usd=cost,
                wall_ms=wall_ms,
                model_ms=model_ms,
            )
        )
        recorder.close()
        return RunResult(
            run_id=run_id,
            model=model,
            status=status,
            status_detail=detail,
            final_text=transcript.final_text,
            steps=transcript.steps,
            usage=usage,
            cost_usd=cost,
            wall_ms=wall_ms,
            model_ms=model_ms,
            work_dir=work_dir,
            trace_path=trace_path,
            skill_loaded=None,
            protocol="native",
            files_written=len(
                [
                    path
                    for path in changed_files(initial, folder_state(work_dir))
                    if not path.startswith(_own_folders(self))
                ]
            ),
            extra={
                "harness": self.name,
                "harness_version": self.version,
                "model_calls": len(server.calls),
                "usage_source": known,
                "harness_reported_usage": transcript.usage.model_dump()
                if transcript.usage
                else None,
            },
        )


class _ServedTurns:
    """The model turns our server served for a harness run: each becomes trace events (the
    model's text and calls, with exact usage) and a line of `model-calls.jsonl`; every
    other event of the run is numbered with the turn it follows."""

    def __init__(
        self, run_id: str, recorder: TraceRecorder, folder: Path, guard: TurnGuard
    ) -> None:
        self.run_id = run_id
        self.recorder = recorder
        self.log = folder / MODEL_CALLS
        self.started = time.perf_counter()
        self.served = 0
        self.guard = guard
        self.stop = asyncio.Event()  # set when a limit is reached: the CLI is ended

    def emit(self, event) -> None:
        event.t_ms = (time.perf_counter() - self.started) * 1000
        event.step = self.served
        self.recorder.emit(event)

    def on_call(self, call: ServedCall) -> None:
        self.served += 1
        _log_call(self.log, call)
        response = call.response
        self.emit(
            LlmRequest(
                run_id=self.run_id,
                messages=len(call.request.messages),
                tokens_estimate=response.usage.input if response else 0,
            )
        )
        if response is None:
            message = call.error or "no reply"
            self.emit(ErrorEvent(run_id=self.run_id, kind="model", message=message))
            return
        # The server's latency includes the wait behind another request of the harness.
        self.emit(LlmResponse.of(self.run_id, response, latency_ms=call.latency_ms))
        if reason := self.guard.observe(bool(call.request.tools), response):
            if self.guard.kind == "loop":
                self.emit(ErrorEvent(run_id=self.run_id, kind="loop", message=reason))
            self.stop.set()


def shared_npm_cache() -> Path:
    folder = harness_dir() / "npm-cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _drop_installed_packages(home: Path) -> None:
    """What a CLI installed into its private home (tens of MB a run) is not worth keeping;
    its logs and session database are."""
    for folder in list(home.rglob("node_modules")):
        shutil.rmtree(folder, ignore_errors=True)


def _own_folders(harness: ExternalHarness) -> tuple[str, ...]:
    return tuple(f for f in (harness.skills_folder, ".opencode", ".codex", ".claude", ".pi") if f)


def _figures(calls: list[ServedCall], transcript: Transcript) -> tuple[Usage, float | None, str]:
    """Tokens and cost: counted by our server when it served the calls (exact), else as the
    harness reported them; 'unknown' when neither knows (cost None, never a made-up 0)."""
    served = [c.response for c in calls if c.response is not None]
    if served:
        usage = sum((r.usage for r in served), Usage())
        costs = [r.cost_usd for r in served]
        return usage, (None if any(c is None for c in costs) else sum(costs)), "server"
    if transcript.usage is not None:
        return transcript.usage, transcript.cost_usd, "harness"
    return Usage(), None, "unknown"


def _log_call(path: Path, call: ServedCall) -> None:
    """Every model call the harness made, with the model's raw reply: why a harness run
    failed is often in what the model wrote, not in what the harness did with it."""
    record = {
        "api": call.api,
        "messages": len(call.request.messages),
        "tools": [tool.name for tool in call.request.tools],
        "latency_ms": round(call.latency_ms),
        "error": call.error,
        "text": call.response.raw_text or call.response.text if call.response else None,
        "tool_calls": [c.model_dump() for c in call.response.tool_calls] if call.response else [],
        "usage": call.response.usage.model_dump() if call.response else None,
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def write_json(path: Path, value: dict) -> None:
    atomic_write_text(path, json.dumps(value, indent=2) + "\n")
