"""`skvm bench`, `skvm bench report`, `skvm bench compare`, `skvm check`."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

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
from skvm_core.errors import EXIT_FAIL, EXIT_OK

console = cli_console()


def _warmup(args: argparse.Namespace) -> int:
    from skvm_core.bench.conditions import is_runtime_condition
    from skvm_core.errors import SkvmError

    if args.warmup is not None:
        if args.warmup < 0:
            raise SkvmError("--warmup must be 0 or more")
        return args.warmup
    return int(any(is_runtime_condition(c.strip()) for c in args.conditions.split(",")))


def _task_paths(spec: str | None, skill: Path | None = None) -> list[str]:
    """The tasks given (`--tasks`), else the skill's: hand-written ones from every place
    they are looked for, else tasks synthesised from its contract, said as such."""
    from skvm_core.errors import SkvmError
    from skvm_core.run.task import discover_tasks

    paths: list[str] = []
    for item in spec.split(",") if spec else []:
        path = Path(item.strip()).expanduser()
        if (path / "task.json").is_file() or path.suffix == ".json":
            paths.append(str(path))
        elif path.is_dir():
            paths += [str(t.task_dir) for t in discover_tasks(path)]
        else:
            raise SkvmError(
                f"no task at {path}", hint="pass task folders, task.json files or folders of tasks"
            )
    if skill is not None and not spec:
        paths = _skill_task_paths(skill)
    if not paths:
        raise SkvmError("no tasks to run", hint="pass --tasks")
    return paths


def _skill_task_paths(folder: Path) -> list[str]:
    from skvm_core.bench.synthetic import synthetic_folder, tasks_or_synthetic
    from skvm_core.config import synthesis_model
    from skvm_core.skill import load_skill
    from skvm_core.store.workspace import Workspace

    skill, workspace = load_skill(folder), Workspace.default()
    tasks, synthetic = tasks_or_synthetic(skill, workspace, synthesis_model())
    if synthetic:
        console.print(
            f"[yellow]{escape(skill.name)} has no hand-written tasks: using {len(tasks)} "
            f"synthetic task(s) built from its contract ({escape(str(synthetic_folder(workspace, skill)))}); "
            "reports count them apart[/]"
        )
    return [str(t.task_dir) for t in tasks]


def _run(plan, executor: str | None = None) -> tuple[list, object]:
    from skvm_core.bench.orchestrator import Bench
    from skvm_core.store.workspace import Workspace

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task(f"bench {plan.session}", total=None, detail="")

        def on_run(record, done: int, total: int) -> None:
            mark = "✓" if record.passed else ("!" if record.tainted else "✗")
            progress.update(
                bar,
                total=total,
                completed=done,
                detail=escape(f"{mark} {record.task_id} · {record.target} · {record.condition}"),
            )

        holder: dict = {}

        async def work(chosen):
            holder["bench"] = Bench(plan, Workspace.default(), on_run, executor=chosen)
            return await holder["bench"].run()

        from skvm_core.executors import with_executor

        records = asyncio.run(with_executor(executor, work))
        bench = holder["bench"]
    console.print(f"ran {bench.executed}, reused {bench.reused} (session {plan.session})")
    return records, bench


def report_table(report) -> Table:
    table = Table(title=f"bench {report.session}")
    for column in (
        "target",
        "condition",
        "graded",
        "pass rate",
        "mean score (95% CI)",
        "pass@k",
        "tokens",
        "cost",
        "tainted",
    ):
        table.add_column(column)
    for c in report.cells:
        at_k = " ".join(f"{k}={v:.2f}" for k, v in c.pass_at_k.items())
        cost = "n/a" if c.cost_usd is None else f"${c.cost_usd:.4f}"
        table.add_row(
            c.target,
            f"{c.condition} · synthetic tasks" if c.synthetic else c.condition,
            f"{c.graded}/{c.runs}",
            f"{c.pass_rate:.2f}",
            f"{c.mean_score:.2f} ({c.score_low:.2f}–{c.score_high:.2f})",
            at_k,
            f"{c.tokens_in + c.tokens_out:,}",
            cost,
            str(len(c.tainted)),
        )
    return table


def _write_reports(report, folder: Path) -> None:
    from skvm_core.bench.report import to_json, to_markdown
    from skvm_core.store.atomic import atomic_write_text

    atomic_write_text(folder / "report.md", to_markdown(report))
    atomic_write_text(folder / "report.json", to_json(report))


def _harnesses(args: argparse.Namespace) -> list[str]:
    from skvm_core.errors import SkvmError
    from skvm_core.harness import HARNESSES

    names = [
        h.strip() for h in (getattr(args, "harnesses", None) or "bare").split(",") if h.strip()
    ]
    for name in names:
        if name not in HARNESSES:
            raise SkvmError(f"unknown harness {name!r}", hint=f"use one of: {', '.join(HARNESSES)}")
    return names or ["bare"]


def _skill_folder(args: argparse.Namespace) -> Path | None:
    skill = getattr(args, "skill", None)
    return Path(skill).expanduser().resolve() if skill else None


def cmd_bench(args: argparse.Namespace) -> int:
    from skvm_core.bench.orchestrator import BenchPlan, new_session_id
    from skvm_core.bench.report import build_report
    from skvm_core.bench.sessions import load_plan
    from skvm_core.config import load_config
    from skvm_core.run.fanout import parse_parallel
    from skvm_core.store.workspace import Workspace

    if args.resume:
        plan = load_plan(Workspace.default(), args.resume)
    else:
        plan = BenchPlan(
            session=new_session_id(),
            tasks=_task_paths(args.tasks, _skill_folder(args)),
            targets=[t.strip() for t in args.targets.split(",")],
            conditions=[c.strip() for c in args.conditions.split(",")],
            runs=args.runs,
            concurrency=args.concurrency,
            temperature=args.temperature,
            judge_model=load_config().judge_model,
            protocol=args.protocol,
            parallel=str(parse_parallel(args.parallel)),
            warmup=_warmup(args),
            warmup_tasks=_task_paths(args.warmup_tasks) if args.warmup_tasks else [],
            harnesses=_harnesses(args),
        )
    records, bench = _run(plan, getattr(args, "executor", None))
    report = build_report(plan.session, records)
    _write_reports(report, bench.folder)
    console.print(report_table(report))
    for delta in report.deltas:
        console.print(
            f"{delta.target}: {delta.other} − {delta.base} = {delta.mean_delta:+.3f} over {delta.tasks} tasks ({delta.wins} better, {delta.losses} worse)"
        )
    console.print(f"reports: {bench.folder / 'report.md'}")
    return EXIT_OK


def cmd_bench_report(args: argparse.Namespace) -> int:
    from skvm_core.bench.report import build_report, to_markdown
    from skvm_core.bench.sessions import load_session
    from skvm_core.store.workspace import Workspace

    workspace = Workspace.default()
    records, problems = [], []
    for session in args.session:
        data = load_session(workspace, session)
        records += data.records
        problems += [f"{session}: {p}" for p in data.problems]
    name = " + ".join(args.session)
    report = build_report(name, records)
    out = Path(args.out).expanduser() if args.out else None
    if out is None and len(args.session) == 1:
        from skvm_core.bench.orchestrator import session_dir

        out = session_dir(workspace, args.session[0])
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write_reports(report, out)
    for problem in problems:
        console.print(f"[yellow]unreadable run record left out:[/] {escape(problem)}")
    if args.markdown:
        print(to_markdown(report))
    else:
        console.print(report_table(report))
    return EXIT_OK


def cmd_bench_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    from skvm_core.bench.sessions import list_sessions
    from skvm_core.store.workspace import Workspace

    sessions = list_sessions(Workspace.default())
    if not sessions:
        console.print("no bench sessions yet; start one with `skvm bench --tasks DIR --targets ID`")
        return EXIT_OK
    table = Table(title="bench sessions")
    for column in ("session", "runs", "targets", "conditions", "last run"):
        table.add_column(column, no_wrap=column in ("session", "runs"))
    for s in sessions:
        done = f"{s.finished}/{s.expected}" + ("" if s.complete else " …")
        table.add_row(
            s.session,
            done,
            escape(", ".join(s.targets)),
            escape(", ".join(s.conditions)),
            datetime.fromtimestamp(s.updated).strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    return EXIT_OK


def cmd_bench_compare(args: argparse.Namespace) -> int:
    from skvm_core.bench.report import build_report
    from skvm_core.bench.sessions import load_session
    from skvm_core.store.workspace import Workspace

    workspace = Workspace.default()
    left, right = (
        {
            (c.target, c.condition): c
            for c in build_report(name, load_session(workspace, name).records).cells
        }
        for name in (args.a, args.b)
    )
    table = Table(title=f"{args.a} → {args.b}")
    for column in ("target", "condition", "pass rate", "mean score", "tokens"):
        table.add_column(column)
    for key in sorted(set(left) & set(right)):
        a, b = left[key], right[key]
        table.add_row(
            *key,
            f"{a.pass_rate:.2f} → {b.pass_rate:.2f}",
            f"{a.mean_score:.2f} → {b.mean_score:.2f} ({b.mean_score - a.mean_score:+.2f})",
            f"{a.tokens_in + a.tokens_out:,} → {b.tokens_in + b.tokens_out:,}",
        )
    console.print(table)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from skvm_core.bench.orchestrator import BenchPlan, new_session_id
    from skvm_core.bench.report import build_report

    skill = Path(args.skill).expanduser().resolve()
    plan = BenchPlan(
        session=f"check-{new_session_id()}",
        tasks=_task_paths(args.tasks, skill),
        targets=[args.target],
        conditions=[args.condition],
        runs=args.runs,
        concurrency=1,
    )
    records, _bench = _run(plan)
    cell = build_report(plan.session, records).cells[0]
    verdict = cell.graded > 0 and cell.pass_rate >= args.min_pass_rate
    colour = "green" if verdict else "red"
    console.print(
        f"[{colour}]{skill.name} on {args.target} ({args.condition}): pass rate {cell.pass_rate:.2f} over {cell.graded} graded runs; bar {args.min_pass_rate:.2f}[/]"
    )
    if cell.tainted:
        console.print(
            f"[yellow]{len(cell.tainted)} tainted runs left out: {json.dumps(cell.tainted)[:300]}[/]"
        )
    return EXIT_OK if verdict else EXIT_FAIL


def cmd_bench_import(args: argparse.Namespace) -> int:
    from skvm_core.bench.importers import import_path
    from skvm_core.store.workspace import Workspace

    out = Path(args.out).expanduser() if args.out else Workspace.default().root / "imported-tasks"
    results = import_path(Path(args.path), out)
    for result in results:
        if result.skipped:
            console.print(f"[yellow]skipped[/] {escape(result.source)}: {escape(result.skipped)}")
        else:
            notes = f" ({'; '.join(result.notes)})" if result.notes else ""
            console.print(f"[green]imported[/] {result.task_id} → {result.task_dir}{escape(notes)}")
    return EXIT_OK if any(r.task_dir for r in results) else EXIT_FAIL


def cmd_bench_export_evals(args: argparse.Namespace) -> int:
    from skvm_core.bench.skill_evals import export_skill_evals
    from skvm_core.errors import SkvmError
    from skvm_core.run.task import load_task
    from skvm_core.store.atomic import atomic_write_text

    tasks = [load_task(path) for path in _task_paths(args.tasks)]
    out = Path(args.out).expanduser()
    if out.exists() and not args.force:
        raise SkvmError(f"{out} exists", hint="pass --force to replace it, or choose another --out")
    document = export_skill_evals(tasks, args.skill)
    atomic_write_text(out, json.dumps(document, indent=2) + "\n")
    console.print(f"wrote {len(tasks)} eval(s) to {escape(str(out))}")
    return EXIT_OK
