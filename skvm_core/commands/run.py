"""`skvm run`: one task or prompt on one model, with a live trace and the score."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE

console = cli_console()


def _short(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "⏎ ")
    return text if len(text) <= width else text[: width - 1] + "…"


_NESTED_RUNS: set[str] = set()


def render_event(event: Any) -> None:
    """Print one trace event as a line (the CLI's live trace view). Its text is shown, never
    obeyed: escape sequences are made visible and markup is escaped."""
    from skvm_core.printable import printable_value

    event = printable_value(event)
    kind = event.type
    # Sub-runs of a fan-out run side by side: their lines would interleave, so the parent's
    # one line per sub-run (`sub_run`) stands for each; their own traces hold the rest.
    if kind == "run_started" and event.parent_run:
        _NESTED_RUNS.add(event.run_id)
        return
    if event.run_id in _NESTED_RUNS:
        return
    if kind == "fan_out":
        where = f"{event.folder}/" if event.folder else "the work folder"
        console.print(
            f"[bold magenta]⑂ fan-out[/] {len(event.items)} items in {escape(where)}, {event.limit} at once, merge by {event.merge}: {escape(_short(event.reason, 160))}"
        )
    elif kind == "sub_run":
        colour = "green" if event.status == "ok" else "red"
        retry = f" (attempt {event.attempt})" if event.attempt > 1 else ""
        wrote = ", ".join(event.files) or "nothing"
        console.print(
            f"  [{colour}]⑂ {escape(event.item)}{retry}: {escape(event.status)}[/] · {event.steps} steps · {event.wall_ms / 1000:.1f} s · wrote {escape(wrote)}"
        )
    elif kind == "run_started":
        skill = f" · skill {event.skill} ({event.skill_mode})" if event.skill else " · no skill"
        console.print(
            f"[bold]▶ {escape(event.model)}[/]{escape(skill)} · sandbox {event.sandbox} · {event.work_dir}"
        )
        if event.protocol:
            console.print(
                f"[dim]  protocol {escape(event.protocol_reason or event.protocol)} · tools {', '.join(event.tools) or 'none (code)'}[/]"
            )
    elif kind == "llm_request":
        cut = f", {event.truncated_outputs} old outputs cut" if event.truncated_outputs else ""
        console.print(
            f"[dim]… step {event.step}: {event.messages} messages, ~{event.tokens_estimate} tokens{cut}[/]"
        )
    elif kind == "llm_response":
        repairs = (
            f" [yellow]repaired: {', '.join(event.format_repairs)}[/]"
            if event.format_repairs
            else ""
        )
        origin = " [magenta](hook)[/]" if event.source == "hook" else ""
        console.print(
            f"[cyan]◆ step {event.step}[/] {event.latency_ms:,.0f} ms · {event.usage.input}→{event.usage.output} tokens{origin}{repairs}"
        )
        if event.text.strip():
            console.print(f"  {escape(_short(event.text, 160))}")
    elif kind == "tool_call":
        console.print(f"  [blue]→ {escape(event.name)}[/]({escape(_short(event.arguments))})")
    elif kind == "tool_result":
        colour = "green" if event.ok else "red"
        code = f" exit {event.exit_code}" if event.exit_code is not None else ""
        more = " [yellow]truncated[/]" if event.truncated else ""
        console.print(
            f"  [{colour}]← {escape(event.name)}{code}[/] {event.duration_ms:,.0f} ms{more}: {escape(_short(event.output))}"
        )
    elif kind == "hook":
        console.print(f"  [magenta]hook {escape(event.hook)}[/]: {escape(event.detail)}")
    elif kind == "error":
        console.print(f"[red]✖ {escape(event.kind)}[/]: {escape(_short(event.message, 300))}")
    elif kind == "run_finished":
        cost = "n/a" if event.cost_usd is None else f"${event.cost_usd:.4f}"
        colour = "green" if event.status == "ok" else "red"
        detail = f" ({escape(event.detail)})" if event.detail else ""
        console.print(
            f"[{colour}]■ {event.status}[/]{detail} · {event.steps} steps · {event.usage.input}+{event.usage.output} tokens · "
            f"{cost} · wall {event.wall_ms / 1000:.1f} s, model {event.model_ms / 1000:.1f} s"
        )


def score_table(score) -> Table:
    table = Table(title=f"Score: {score.summary()}")
    for column in ("criterion", "method", "weight", "score", "details"):
        table.add_column(column, overflow="fold")
    for result in score.results:
        details = (
            result.infra_error
            and f"[yellow]skipped: {escape(result.infra_error)}[/]"
            or escape(result.details)
        )
        table.add_row(
            escape(result.criterion),
            result.method,
            f"{result.weight:g}",
            f"{result.score:.2f}",
            details,
        )
        for checkpoint in result.checkpoints:
            mark = "✓" if checkpoint.score >= 0.5 else "✗"
            table.add_row(
                "",
                "",
                "",
                f"{checkpoint.score:.2f}",
                f"{mark} {escape(checkpoint.name)}: {escape(checkpoint.reason)}",
            )
    return table


async def _solidified(args: argparse.Namespace, task, skill):
    from skvm_core.config import load_config
    from skvm_core.errors import SkvmError
    from skvm_core.jit.runtime import run_solidified
    from skvm_core.run.runner import task_skill
    from skvm_core.store.workspace import Workspace

    skill = skill or task_skill(task)
    if skill is None or args.no_skill:
        raise SkvmError("--jit solidifies a skill: give --skill or a task that names one")
    outcome = await run_solidified(
        task,
        args.model,
        skill=skill,
        workspace=Workspace.default(),
        subscribers=[render_event],
        judge_model=load_config().judge_model,
        protocol=args.protocol,
    )
    info = outcome.run.extra.get("solidified", {})
    line = f"solidification: {info.get('outcome', 'model')}"
    if info.get("template"):
        line += f" (template {info['template']})"
    if shadow := info.get("shadow"):
        line += f"; shadow trial: {shadow.get('template') or 'none'} {'passed' if shadow.get('ok') else shadow.get('reason', '')}"
    console.print(f"[cyan]{escape(line)}[/]")
    return outcome


def _folder_run(args: argparse.Namespace, skill) -> int:
    from skvm_core.errors import SkvmError
    from skvm_core.run.folder_run import run_on_folder, save_as_task
    from skvm_core.store.workspace import Workspace

    if args.save_task and skill is None:
        raise SkvmError("--save-task saves the run as a task of a skill: give --skill")
    workspace = Workspace.default()
    run = asyncio.run(
        run_on_folder(
            args.prompt,
            args.model,
            Path(args.workdir),
            skill=None if args.no_skill else skill,
            workspace=workspace,
            subscribers=[render_event],
            harness=args.harness,
            protocol=args.protocol,
            skill_mode=args.skill_mode,
            parallel=args.parallel,
        )
    )
    result = run.outcome.run
    if result.final_text:
        console.print(f"\n[bold]Answer[/]\n{escape(result.final_text)}")
    names = ", ".join(run.changed) or "no files"
    if run.copied_back:
        console.print(f"copied back into {escape(str(run.folder))}: {escape(names)}")
    else:
        console.print(
            f"[yellow]the run ended {result.status}: {escape(str(run.folder))} was left as it was "
            f"(it wrote {escape(names)})[/]"
        )
    console.print(f"[dim]trace: {result.trace_path}[/]")
    if args.save_task and run.copied_back:
        folder = save_as_task(run, skill, workspace)
        console.print(
            f"saved as a task: {escape(str(folder / 'task.json'))} (check its expected values)"
        )
    if result.status == "infra-error":
        return EXIT_USAGE
    return EXIT_OK if result.status == "ok" else EXIT_FAIL


def cmd_run(args: argparse.Namespace) -> int:
    from skvm_core.agent.bare import limits_for
    from skvm_core.config import load_config
    from skvm_core.harness import get_harness
    from skvm_core.llm.models import check_model_ready
    from skvm_core.run.runner import run_task
    from skvm_core.run.task import load_task
    from skvm_core.skill import load_skill
    from skvm_core.store.workspace import Workspace

    if bool(args.task) == bool(args.prompt):
        console.print("[red]error:[/] give exactly one of --task or --prompt")
        return EXIT_USAGE
    if args.workdir and args.task:
        console.print(
            "[red]error:[/] --workdir is for a --prompt run (a task brings its own files)"
        )
        return EXIT_USAGE
    skill = load_skill(args.skill) if args.skill else None
    if skill is not None and not skill.is_valid:
        for diagnostic in skill.errors:
            console.print(f"[yellow]{escape(str(diagnostic))}[/]")
    check_model_ready(args.model)
    get_harness(args.harness)  # an unknown harness fails before any work
    if args.task:
        task = load_task(args.task)
        if getattr(args, "jit", False):
            outcome = asyncio.run(_solidified(args, task, skill))
        else:
            outcome = asyncio.run(
                run_task(
                    task,
                    args.model,
                    skill=skill,
                    use_task_skill=not args.no_skill,
                    skill_mode=args.skill_mode,
                    keep=args.keep,
                    subscribers=[render_event],
                    judge_model=load_config().judge_model,
                    protocol=args.protocol,
                    harness=args.harness,
                    parallel=args.parallel,
                )
            )
        console.print(score_table(outcome.score))
        console.print(
            f"[dim]trace: {outcome.run.trace_path}[/]"
            + (f"\n[dim]work dir kept: {outcome.run.work_dir}[/]" if args.keep else "")
        )
        if outcome.setup_note:
            console.print(f"[yellow]{escape(outcome.setup_note)}[/]")
        if outcome.run.status == "infra-error":
            return EXIT_USAGE
        return EXIT_OK if outcome.score.passed else EXIT_FAIL
    if args.save_task and not args.workdir:
        console.print("[red]error:[/] --save-task saves a --workdir run")
        return EXIT_USAGE
    if args.workdir:
        return _folder_run(args, skill)
    workspace = Workspace.default()
    run_id = workspace.new_run_id("prompt")
    run_dir = workspace.run_dir(run_id)
    work_dir = run_dir / "work" if args.keep else Path(tempfile.mkdtemp(prefix="skvm-run-"))
    from skvm_core.profile.store import target_protocol

    decision = target_protocol(args.model, args.protocol, workspace)
    result = asyncio.run(
        get_harness(args.harness).run(
            args.model,
            args.prompt,
            work_dir,
            skill,
            limits_for(args.model, harness=args.harness),
            run_id=run_id,
            trace_path=run_dir / "trace.jsonl",
            subscribers=[render_event],
            protocol=decision,
            skill_mode=args.skill_mode,
        )
    )
    if result.final_text:
        console.print(f"\n[bold]Answer[/]\n{escape(result.final_text)}")
    console.print(f"[dim]trace: {result.trace_path}[/]")
    if not args.keep:
        import shutil

        shutil.rmtree(work_dir, ignore_errors=True)
    if result.status == "infra-error":
        return EXIT_USAGE
    return EXIT_OK if result.status == "ok" else EXIT_FAIL


def cmd_trace_show(args: argparse.Namespace) -> int:
    from skvm_core.agent.trace import replay

    count = replay(args.trace, render_event)
    console.print(f"[dim]{count} events[/]")
    return EXIT_OK
