"""`skvm profile`: measure a model, show and import profiles."""

from __future__ import annotations

import argparse
import asyncio

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_OK

console = cli_console()
LEVEL_STYLE = {"L0": "red", "L1": "yellow", "L2": "cyan", "L3": "green"}


def cmd_profile(args: argparse.Namespace) -> int:
    from skvm_core.profile.runner import ProfileOptions, Profiler, store_tcp
    from skvm_core.profile.store import target_protocol
    from skvm_core.store.workspace import Workspace

    workspace = Workspace.default()
    harness = getattr(args, "harness", "bare") or "bare"
    if harness == "bare":
        decision = target_protocol(args.model, args.protocol, workspace)
        console.print(f"[dim]protocol {escape(decision.describe())}[/]")
        protocol = decision.protocol
    else:
        # An external harness calls tools its own way: its profiles are `native` ones.
        console.print(f"[dim]harness {escape(harness)} (its own tool calling)[/]")
        protocol = "native"
    options = ProfileOptions(
        model=args.model,
        protocol=protocol,
        harness=harness,
        primitives=[p.strip() for p in args.primitives.split(",")] if args.primitives else None,
        instances=args.instances,
        seed=args.seed,
        concurrency=args.concurrency,
        policy=args.policy,
        fast=args.fast,
    )
    totals = {"tokens": 0, "cost": 0.0, "passed": 0}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"profiling {args.model}", total=None, detail="")

        def on_instance(record, done: int, total: int) -> None:
            totals["tokens"] += record.usage.input + record.usage.output
            totals["cost"] += record.cost_usd or 0.0
            totals["passed"] += record.passed
            mark = "✓" if record.passed else ("·" if record.skipped else "✗")
            detail = f"{mark} {record.primitive} {record.level}  {totals['passed']} passed · {totals['tokens']:,} tokens · ${totals['cost']:.4f}"
            progress.update(task, total=total, completed=done, detail=escape(detail))

        from skvm_core.executors import with_executor

        holder: dict = {}

        async def work(executor):
            holder["profiler"] = Profiler(options, workspace, on_instance, executor=executor)
            return await holder["profiler"].run(resume=args.resume)

        tcp = asyncio.run(with_executor(args.executor, work))
        profiler = holder["profiler"]
    path = store_tcp(tcp, workspace)
    console.print(profile_table(tcp))
    console.print(f"ran {profiler.executed} instances, reused {profiler.reused}; saved {path}")
    return EXIT_OK


def profile_table(tcp) -> Table:
    table = Table(
        title=f"{tcp.model} ({tcp.harness}, {tcp.protocol}) · {tcp.profiled_at}{' · partial' if tcp.is_partial else ''}"
    )
    for column in ("primitive", "level", "L1", "L2", "L3", "note"):
        table.add_column(column, overflow="fold")
    for detail in tcp.details:
        cells = []
        for level in ("L1", "L2", "L3"):
            result = detail.result(level)
            if result is None:
                cells.append("[dim]—[/]")
                continue
            judged = result.total_count - result.skip_count
            colour = "green" if result.passed else "red"
            skip = f" ({result.skip_count} skipped)" if result.skip_count else ""
            cells.append(f"[{colour}]{result.pass_count}/{judged}[/]{skip}")
        style = LEVEL_STYLE[detail.highest_level]
        note = escape(detail.calibration_note or "")
        table.add_row(detail.primitive_id, f"[{style}]{detail.highest_level}[/]", *cells, note)
    unprofiled = sorted(set(_catalog_ids()) - {d.primitive_id for d in tcp.details})
    for primitive in unprofiled:
        table.add_row(primitive, "[dim]unknown[/]", "", "", "", "not profiled")
    return table


def _catalog_ids() -> list[str]:
    from skvm_core.catalog import load_catalog

    return load_catalog().ids()


def cmd_profile_show(args: argparse.Namespace) -> int:
    from skvm_core.profile.store import load_profile
    from skvm_core.store.workspace import Workspace

    tcp = load_profile(args.target, Workspace.default())
    console.print(profile_table(tcp))
    tokens = tcp.cost.total_tokens
    console.print(
        f"{tokens.input:,} input + {tokens.output:,} output tokens · {tcp.cost.duration_ms / 1000:,.0f} s of runs"
    )
    return EXIT_OK


def cmd_profile_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from skvm_core.errors import SkvmError
    from skvm_core.profile.store import import_profile
    from skvm_core.store.workspace import Workspace

    source = Path(args.path).expanduser()
    files = (
        sorted(p for p in source.rglob("*.json") if "failure" not in p.name)
        if source.is_dir()
        else [source]
    )
    if not files:
        raise SkvmError(f"no profile files (*.json) in {source}")
    imported, problems = 0, []
    for file in files:
        try:
            path = import_profile(file, Workspace.default())
        except SkvmError as exc:
            problems.append(f"{file}: {exc.message}")
            continue
        imported += 1
        console.print(f"imported {file} as {path}")
    for problem in problems:
        console.print(f"[yellow]skipped {escape(problem)}[/]")
    if not imported:
        raise SkvmError(f"none of the {len(files)} files in {source} is a profile")
    return EXIT_OK


def cmd_profile_list(args: argparse.Namespace) -> int:
    from skvm_core.profile.store import list_profiles
    from skvm_core.store.workspace import Workspace

    table = Table(title="Profiles")
    for column in ("model", "harness", "profiled", "primitives", "file"):
        table.add_column(column, overflow="fold")
    for path, tcp in list_profiles(Workspace.default()):
        table.add_row(
            tcp.model, tcp.harness, tcp.profiled_at, str(len(tcp.capabilities)), str(path)
        )
    console.print(table)
    return EXIT_OK
