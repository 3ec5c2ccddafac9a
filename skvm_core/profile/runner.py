"""Run the profile: targets × primitives × levels × instances, resumable, with honest numbers.

Every finished instance is written to the session folder at once (atomically), so a run
that is killed resumes without repeating finished instances. Same model, seed, instance
count and policy → same session folder.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from skvm_core.agent.bare import limits_for
from skvm_core.agent.protocols import resolve_protocol
from skvm_core.agent.tools import LOOPBACK_HOSTS
from skvm_core.catalog import load_catalog
from skvm_core.errors import SkvmError
from skvm_core.executors import Executor, WorkerLost, call_with_retry, make_executor, resources_for
from skvm_core.harness import get_harness
from skvm_core.llm.models import check_model_ready
from skvm_core.llm.types import Usage
from skvm_core.profile.generators import GENERATORS
from skvm_core.profile.instance import RESPONSE_FILE, TEST_LEVELS, CheckResult, Instance, write
from skvm_core.profile.tcp import (
    TCP,
    LevelResult,
    PrimitiveDetail,
    ProfileCost,
    ProfileError,
    TokenUsage,
)
from skvm_core.profile.webserver import serve_routes
from skvm_core.store.atomic import atomic_write_text
from skvm_core.store.workspace import Workspace

Policy = Literal["strict", "majority"]
HARNESS = "bare-agent"  # how profiles name our own agent (folder and TCP field)


def profile_harness(harness: str) -> str:
    """The harness name profiles are kept under: `bare` is `bare-agent`."""
    return HARNESS if harness in ("", "bare", HARNESS) else harness


# Fewer steps than a task run: a primitive micro-task needs few, and a weak model that
# loops would otherwise burn minutes of CPU per instance.
PROFILE_MAX_STEPS = 8


class ProfileOptions(BaseModel):
    model: str
    primitives: list[str] | None = None
    instances: int = Field(default=3, ge=1, le=50)
    seed: int = 0
    concurrency: int = Field(default=1, ge=1, le=64)
    policy: Policy = "strict"
    fast: bool = False
    timeout_s: float = 300.0
    max_steps: int = PROFILE_MAX_STEPS
    # How the target acts while measured (a concrete protocol; `auto` is resolved before
    # a session starts). Profiles are kept per model × protocol.
    protocol: str = "native"
    # The agent harness the instances run in (profiles are kept per model × harness ×
    # protocol; an external harness acts its own way, so its protocol is `native`).
    harness: str = "bare"


class InstanceRecord(BaseModel):
    primitive: str
    level: str
    index: int
    passed: bool
    skipped: bool = False
    score: float = 0.0
    summary: str = ""
    status: str = "ok"
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0
    wall_ms: float = 0.0
    model_ms: float = 0.0
    steps: int = 0
    tool_calls: int = 0
    trace: str | None = None
    rerun: bool = False  # an extra instance run to check an inversion

    @property
    def key(self) -> str:
        return f"{self.primitive}/{self.level}/{self.index}"


ProgressFn = Callable[[InstanceRecord, int, int], None]


def slug(model: str) -> str:
    """A model id as one safe folder name: `openai/gpt-4o` → `openai--gpt-4o`; anything
    that could climb out of a folder (`..`, separators, control characters) is replaced."""
    name = re.sub(r"[^A-Za-z0-9._+@=-]", "_", model.replace("/", "--").replace(":", "_"))
    return f"_{name}" if name.strip(".") == "" else name


def profile_folder(root: Path, harness: str, model: str, protocol: str | None) -> Path:
    """Where a model's profiles under one protocol live. `native` (and profiles made before
    protocols existed, which used the model's own tool-call format) sit at the model's
    folder; other protocols in a subfolder of it."""
    folder = root / slug(harness) / slug(model)
    if protocol in (None, "", "native"):
        return folder
    if protocol not in ("constrained", "code-act"):
        raise ProfileError(
            f"unknown protocol {protocol!r} in a profile",
            hint="use native, constrained or code-act",
        )
    return folder / protocol


def session_dir(workspace: Workspace, options: ProfileOptions) -> Path:
    name = (
        f"seed{options.seed}-n{options.instances}-{options.policy}{'-fast' if options.fast else ''}"
    )
    folder = profile_folder(
        workspace.root / "profiles",
        profile_harness(options.harness),
        options.model,
        options.protocol,
    )
    return folder / "sessions" / name


def record_path(session: Path, primitive: str, level: str, index: int) -> Path:
    return session / "instances" / primitive / f"{level}-{index}.json"


def load_records(session: Path) -> dict[str, InstanceRecord]:
    found: dict[str, InstanceRecord] = {}
    for path in (session / "instances").glob("*/*.json"):
        try:
            record = InstanceRecord.model_validate_json(path.read_text("utf-8"))
        except ValueError:
            continue  # a torn file from a kill during write cannot exist (atomic), but be safe
        found[record.key] = record
    return found


def level_passed(records: list[InstanceRecord], policy: Policy) -> bool:
    judged = [r for r in records if not r.skipped]
    if not judged:
        return False
    passes = sum(r.passed for r in judged)
    return passes == len(judged) if policy == "strict" else passes * 2 > len(judged)


class Profiler:
    def __init__(
        self,
        options: ProfileOptions,
        workspace: Workspace | None = None,
        progress: ProgressFn | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.options = options
        self.executor = executor or make_executor("local")
        self.workspace = workspace or Workspace.default()
        self.progress = progress
        self.session = session_dir(self.workspace, options)
        self.records: dict[str, InstanceRecord] = {}
        self.executed = 0
        self.reused = 0
        catalog_ids = load_catalog().ids()
        chosen = options.primitives or catalog_ids
        unknown = [p for p in chosen if p not in GENERATORS]
        if unknown:
            raise SkvmError(
                f"unknown primitives: {', '.join(unknown)}", hint="`skvm catalog` lists the ids"
            )
        self.primitives = [p for p in catalog_ids if p in chosen]
        self._semaphore = asyncio.Semaphore(options.concurrency)
        self._total = len(self.primitives) * len(TEST_LEVELS) * options.instances
        self._done = 0

    async def run(self, *, resume: bool = True) -> TCP:
        check_model_ready(self.options.model)
        if not resume and self.session.exists():
            shutil.rmtree(self.session)
        self.session.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.session / "options.json", self.options.model_dump_json(indent=2))
        self.records = load_records(self.session)
        started = time.perf_counter()
        await asyncio.gather(*(self._primitive(p) for p in self.primitives))
        notes = await self._check_inversions()
        tcp = self._build_tcp(notes, (time.perf_counter() - started) * 1000)
        return tcp

    async def _primitive(self, primitive: str) -> None:
        if self.options.fast:
            for level in TEST_LEVELS:
                results = await asyncio.gather(
                    *(self._instance(primitive, level, i) for i in range(self.options.instances))
                )
                if not level_passed(list(results), self.options.policy):
                    self._done += (
                        len(TEST_LEVELS) - TEST_LEVELS.index(level) - 1
                    ) * self.options.instances
                    return
            return
        await asyncio.gather(
            *(
                self._instance(primitive, level, i)
                for level in TEST_LEVELS
                for i in range(self.options.instances)
            )
        )

    async def _instance(
        self, primitive: str, level: str, index: int, rerun: bool = False
    ) -> InstanceRecord:
        key = f"{primitive}/{level}/{index}"
        existing = self.records.get(key)
        if existing is not None:
            self.reused += 1
            self._report(existing)
            return existing
        instance = GENERATORS[primitive].generate(level, self.options.seed, index)
        async with self._semaphore:
            try:
                record, _lost = await call_with_retry(
                    self.executor,
                    run_instance,
                    instance,
                    self.options,
                    self.session,
                    resources=resources_for(self.options.model),
                )
            except WorkerLost as exc:
                record = InstanceRecord(
                    primitive=primitive,
                    level=level,
                    index=index,
                    passed=False,
                    skipped=True,
                    status="infra-error",
                    summary=f"infrastructure: worker lost twice: {exc}",
                )
        record.rerun = rerun
        atomic_write_text(
            record_path(self.session, primitive, level, index), record.model_dump_json(indent=2)
        )
        self.records[key] = record
        self.executed += 1
        self._report(record)
        return record

    def _report(self, record: InstanceRecord) -> None:
        self._done += 1
        if self.progress:
            self.progress(record, self._done, self._total)

    def level_records(
        self, primitive: str, level: str, include_reruns: bool = False
    ) -> list[InstanceRecord]:
        return sorted(
            (
                r
                for r in self.records.values()
                if r.primitive == primitive and r.level == level and (include_reruns or not r.rerun)
            ),
            key=lambda r: r.index,
        )

    async def _check_inversions(self) -> dict[str, str]:
        """A higher level passing while a lower one fails is suspicious: run the lower level
        again with fresh instances and record what happened."""
        notes: dict[str, str] = {}
        for primitive in self.primitives:
            verdict = {
                lv: level_passed(self.level_records(primitive, lv), self.options.policy)
                for lv in TEST_LEVELS
            }
            ran = {lv: bool(self.level_records(primitive, lv)) for lv in TEST_LEVELS}
            inverted = [
                (low, high) for i, low in enumerate(TEST_LEVELS) for high in TEST_LEVELS[i + 1 :]
                if ran[low] and ran[high] and not verdict[low] and verdict[high]
            ]  # fmt: skip
            if not inverted:
                continue
            lines = []
            for low in sorted({low for low, _ in inverted}):
                extra = range(self.options.instances, 2 * self.options.instances)
                reruns = await asyncio.gather(
                    *(self._instance(primitive, low, i, rerun=True) for i in extra)
                )
                passes = sum(r.passed for r in reruns if not r.skipped)
                highs = ", ".join(h for lo, h in inverted if lo == low)
                lines.append(
                    f"inversion: {low} failed while {highs} passed; re-ran {low} on {len(reruns)} fresh instances: {passes}/{len(reruns)} passed"
                )
            notes[primitive] = "; ".join(lines)
        return notes

    def _build_tcp(self, notes: dict[str, str], duration_ms: float) -> TCP:
        details, capabilities = [], {}
        total_usage, total_cost = Usage(), 0.0
        for record in self.records.values():
            total_usage = total_usage + record.usage
            total_cost = (
                None
                if total_cost is None or record.cost_usd is None
                else total_cost + record.cost_usd
            )
        generator_descriptions = {p: GENERATORS[p].descriptions for p in self.primitives}
        for primitive in self.primitives:
            results = []
            highest = "L0"
            for level in TEST_LEVELS:
                records = self.level_records(primitive, level)
                if not records:
                    continue
                passed = level_passed(records, self.options.policy)
                if passed:
                    highest = level  # the reference's rule: the highest passing level
                cost = (
                    None
                    if any(r.cost_usd is None for r in records)
                    else sum(r.cost_usd or 0 for r in records)
                )
                result = LevelResult(
                    level=level,
                    passed=passed,
                    passCount=sum(r.passed for r in records),
                    totalCount=len(records),
                    skipCount=sum(r.skipped for r in records),
                    durationMs=sum(r.wall_ms for r in records),
                    costUsd=cost,
                    testDescription=generator_descriptions[primitive][level],
                    failureDetails=[
                        _failure_line(r) for r in records if not r.passed and not r.skipped
                    ],
                )
                low, high = result.interval()
                result.__pydantic_extra__.update(
                    passRateInterval=[round(low, 3), round(high, 3)],
                    instances=[_instance_summary(r) for r in records],
                    reruns=[
                        _instance_summary(r)
                        for r in self.level_records(primitive, level, include_reruns=True)
                        if r.rerun
                    ],
                )
                results.append(result)
            detail = PrimitiveDetail(
                primitiveId=primitive, highestLevel=highest, levelResults=results
            )
            if primitive in notes:
                detail.calibration_note = notes[primitive]
            details.append(detail)
            capabilities[primitive] = highest
        complete = all(
            self.level_records(p, lv) or self.options.fast
            for p in self.primitives
            for lv in TEST_LEVELS
        )
        tcp = TCP(
            model=self.options.model,
            harness=profile_harness(self.options.harness),
            profiledAt=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            capabilities=capabilities,
            details=details,
            cost=ProfileCost(
                totalUsd=total_cost,
                totalTokens=TokenUsage(
                    input=total_usage.input,
                    output=total_usage.output,
                    cacheRead=total_usage.cache_read,
                    cacheWrite=total_usage.cache_write,
                ),
                durationMs=sum(r.wall_ms for r in self.records.values()),
            ),
            isPartial=not complete or len(self.primitives) < len(GENERATORS),
        )
        tcp.__pydantic_extra__.update(
            seed=self.options.seed,
            policy=self.options.policy,
            instancesPerLevel=self.options.instances,
            fast=self.options.fast,
            maxSteps=self.options.max_steps,
            modelTimeMs=sum(r.model_ms for r in self.records.values()),
            sessionWallMs=round(duration_ms, 1),
            protocol=self.options.protocol,
        )
        return tcp


def _instance_summary(record: InstanceRecord) -> dict:
    return {
        "index": record.index,
        "passed": record.passed,
        "skipped": record.skipped,
        "score": round(record.score, 3),
        "status": record.status,
        "tokens": {"input": record.usage.input, "output": record.usage.output},
        "wallMs": round(record.wall_ms, 1),
        "modelMs": round(record.model_ms, 1),
        "trace": record.trace,
    }


def _failure_line(record: InstanceRecord) -> str:
    return f"{record.summary} | {record.steps} steps, {record.tool_calls} calls, status {record.status}"


async def run_instance(
    instance: Instance, options: ProfileOptions, session: Path
) -> InstanceRecord:
    """Run one instance in a fresh work dir and check it; the work dir stays only on failure."""
    generator = GENERATORS[instance.primitive]
    work = session / "work" / instance.primitive / f"{instance.level}-{instance.index}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name, text in instance.files.items():
        write(work, name, text)
    trace = session / "traces" / instance.primitive / f"{instance.level}-{instance.index}.jsonl"
    trace.unlink(missing_ok=True)
    # Text primitives are answered in prose: no reminder to use tools there.
    limits = limits_for(
        options.model,
        harness=options.harness,
        max_steps=options.max_steps,
        timeout_s=options.timeout_s,
        nudge_without_tools=generator.writes_files,
        # An instance with its own server on loopback may reach it; no other may.
        allowed_hosts=LOOPBACK_HOSTS if instance.routes else (),
    )
    adapter = get_harness(options.harness)
    decision = resolve_protocol(options.protocol, options.model, None)

    async def run_prompt(prompt: str):
        return await adapter.run(
            options.model,
            prompt,
            work,
            None,
            limits,
            run_id=instance.key,
            trace_path=trace,
            protocol=decision,
        )

    if instance.routes:
        with serve_routes(instance.routes) as base_url:
            run = await run_prompt(instance.prompt.replace("{base_url}", base_url))
    else:
        run = await run_prompt(instance.prompt)
    (work / RESPONSE_FILE).write_text(run.final_text, "utf-8")
    record = InstanceRecord(
        primitive=instance.primitive,
        level=instance.level,
        index=instance.index,
        passed=False,
        status=run.status,
        usage=run.usage,
        cost_usd=run.cost_usd,
        wall_ms=run.wall_ms,
        model_ms=run.model_ms,
        steps=len(run.steps),
        tool_calls=run.tool_calls,
        trace=str(trace),
    )
    if run.status == "infra-error":
        record.skipped, record.summary = True, f"infrastructure: {run.status_detail}"
    elif run.status != "ok":
        record.summary = f"tainted: {run.status} {run.status_detail}".strip()
    else:
        try:
            result = await generator.check(instance, work, run.final_text)
        except Exception as exc:  # a checker bug must not sink the whole profile
            result = CheckResult(infra_error=f"checker failed: {type(exc).__name__}: {exc}")
        record.passed, record.score, record.summary = result.passed, result.score, result.summary()
        record.skipped = result.infra_error is not None
    if record.passed or record.skipped:
        shutil.rmtree(work, ignore_errors=True)
    return record


def store_tcp(tcp: TCP, workspace: Workspace) -> Path:
    """Write `v_<timestamp>.json` and point `latest.json` at the same content."""
    folder = profile_folder(workspace.root / "profiles", tcp.harness, tcp.model, tcp.protocol)
    stamp = tcp.profiled_at.replace("-", "").replace(":", "").split(".")[0] + "Z"
    version = folder / f"v_{stamp}.json"
    atomic_write_text(version, tcp.to_json())
    atomic_write_text(folder / "latest.json", tcp.to_json())
    return version
