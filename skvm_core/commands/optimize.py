"""`skvm optimize` and `skvm proposals`: failures become reviewed proposals."""

from __future__ import annotations

import argparse
import asyncio
import math
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_FAIL, EXIT_OK, SkvmError

console = cli_console()


def _workspace():
    from skvm_core.store.workspace import Workspace

    return Workspace.default()


def baseline_variant(skill, target: str, workspace) -> Path:
    """The target's accepted variant, or the compiler's variant for its profile."""
    from skvm_core.compile import compile_skill
    from skvm_core.compile.accepted import compiled_or_error, variant_folder
    from skvm_core.profile.store import profile_for_protocol

    def compiled():
        result = compile_skill(
            skill,
            profile_for_protocol(target, "auto", workspace),
            cache_dir=workspace.root / "cache" / "compile",
        )
        return compiled_or_error(result, target)

    return variant_folder(skill.name, target, workspace, compiled)


def _fmt(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}"


def _scores(scores) -> str:
    if scores is None or scores.mean is None:
        return "not measured"
    # One task gives no interval across tasks.
    interval = f" ({_fmt(scores.low)}–{_fmt(scores.high)})" if scores.tasks > 1 else ""
    return f"{_fmt(scores.mean)}{interval} over {scores.tasks} task(s), pass {_fmt(scores.pass_rate)}, {scores.tokens_per_run:,.0f} tokens/run"


def cmd_optimize(args: argparse.Namespace) -> int:
    from skvm_core.bench.orchestrator import new_session_id
    from skvm_core.commands.bench import _task_paths
    from skvm_core.llm.models import check_model_ready
    from skvm_core.optimize.rounds import (
        FINAL_MIN_TASKS,
        OptimizeOptions,
        OptimizeSession,
        load_session,
        run_optimize,
        split_final,
        split_tasks,
    )
    from skvm_core.skill import load_skill

    workspace = _workspace()
    baseline = None
    if args.resume:
        session = load_session(workspace, args.resume)
    else:
        if not (args.skill and args.target):
            raise SkvmError(
                "give --skill and --target (or --resume SESSION)",
                hint="--tasks defaults to the tasks beside the skill",
            )
        check_model_ready(args.target)
        skill = load_skill(args.skill)
        options = OptimizeOptions(
            rounds=args.rounds, runs=args.runs, proposer=args.proposer, seed=args.seed
        )
        paths = _task_paths(args.tasks, skill.root)
        rest, test = split_final(paths, options.final, options.seed)
        train, held_out = split_tasks(rest, options.held_out, options.seed)
        session = OptimizeSession(
            id=new_session_id(),
            skill=skill.name,
            skill_dir=str(skill.root),
            target=args.target,
            train=train,
            held_out=held_out,
            test=test,
            options=options,
        )
        baseline = baseline_variant(skill, args.target, workspace)
        console.print(
            f"optimize session {session.id}: {len(train)} training, {len(held_out)} held-out, "
            f"{len(test)} final-test tasks"
            + ("" if test else f" (a final test needs {FINAL_MIN_TASKS}+ tasks)")
        )
    session = asyncio.run(
        run_optimize(
            session,
            workspace,
            baseline=baseline,
            progress=lambda m: console.print(f"[dim]{escape(m)}[/]"),
        )
    )
    table = Table(title=f"optimize {session.id} · {session.skill} on {session.target}")
    for column in ("round", "repairs", "train", "held-out", "tainted"):
        table.add_column(column, overflow="fold")
    for r in session.rounds:
        table.add_row(
            str(r.index),
            escape("; ".join(n.rule for n in r.repairs) or "baseline"),
            _scores(r.train),
            _scores(r.held_out),
            str(r.tainted),
        )
    console.print(table)
    console.print(f"best: round {session.best} · {escape(session.best_reason)}")
    if session.final_best is not None:
        console.print(
            f"final test (chose nothing): baseline {_scores(session.final_base)} · "
            f"round {session.best} {_scores(session.final_best)}"
        )
    if session.proposal:
        console.print(f"proposal {session.proposal}: `skvm proposals show {session.proposal}`")
    if session.error:
        console.print(f"[red]failed:[/] {escape(session.error)}")
        return EXIT_FAIL
    return EXIT_OK


def _store():
    from skvm_core.optimize.proposals import ProposalStore

    return ProposalStore(_workspace())


def cmd_proposals_list(args: argparse.Namespace) -> int:
    proposals = _store().all()
    if not proposals:
        console.print("no proposals yet: `skvm optimize` makes them, and so does the workbench")
        return EXIT_OK
    table = Table(title="Proposals")
    table.add_column("proposal", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("skill · target", "repairs", "held-out before → after"):
        table.add_column(column, overflow="fold")
    for p in proposals:
        table.add_row(
            p.id,
            p.status,
            escape(f"{p.skill} · {p.target}"),
            escape(", ".join(r.rule for r in p.repairs)),
            f"{_fmt(p.before.mean) if p.before else '—'} → {_fmt(p.after.mean) if p.after else '—'}",
        )
    console.print(table)
    return EXIT_OK


def cmd_proposals_show(args: argparse.Namespace) -> int:
    p = _store().get(args.proposal)
    console.print(f"[bold]{p.id}[/] · {p.skill} on {p.target} · {p.status} · from {p.source}")
    console.print(f"held-out before: {_scores(p.before)}")
    console.print(f"held-out after:  {_scores(p.after)}")
    if p.final_after is not None:  # the tasks that chose nothing
        console.print(f"final test before: {_scores(p.final_before)}")
        console.print(f"final test after:  {_scores(p.final_after)}")
    else:
        console.print(
            "[dim]no final test (fewer than 4 tasks): the held-out scores chose this round[/]"
        )
    cost = "unknown" if p.cost_usd is None else f"${p.cost_usd:.4f}"
    console.print(f"spent: {p.tokens_spent:,} tokens, {cost}")
    for repair in p.repairs:
        console.print(f"- [bold]{escape(repair.rule)}[/] ({repair.kind}): {escape(repair.summary)}")
        console.print(f"  [dim]evidence: {', '.join(repair.runs[:5])}[/]")
    return EXIT_OK


def cmd_proposals_diff(args: argparse.Namespace) -> int:
    from skvm_core.textdiff import unified

    store = _store()
    p = store.get(args.proposal)
    lines = unified(p.base_text.splitlines(), store.variant_text(p).splitlines(), "current", p.id)
    for line in lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        console.print(f"[{style}]{escape(line)}[/]" if style else escape(line))
    return EXIT_OK


def cmd_proposals_accept(args: argparse.Namespace) -> int:
    store = _store()
    number = store.accept(args.proposal)
    p = store.get(args.proposal)
    console.print(f"accepted: version {number} is now the variant of {p.skill} on {p.target}")
    return EXIT_OK


def cmd_proposals_reject(args: argparse.Namespace) -> int:
    _store().reject(args.proposal)
    console.print(f"rejected {args.proposal}")
    return EXIT_OK


def cmd_proposals_restore(args: argparse.Namespace) -> int:
    store = _store()
    skill = args.skill
    if (Path(skill).expanduser() / "SKILL.md").is_file():
        from skvm_core.skill import load_skill

        skill = load_skill(skill).name
    store.restore(skill, args.target, args.version)
    which = "the compiler's own variant" if args.version == 0 else f"version {args.version}"
    console.print(f"{skill} on {args.target} now uses {which}")
    return EXIT_OK
