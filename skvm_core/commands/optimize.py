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
            cache_dir=workspace.compile_cache,
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


SYNTHETIC_NOTE = (
    "measured on tasks synthesised from the skill's contract (it has no hand-written "
    "tasks): they check the outputs' shape and, where synthesis agreed, its outputs"
)


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
    from skvm_core.run.task import load_task
    from skvm_core.skill import load_skill

    if getattr(args, "description", False):
        return cmd_optimize_description(args)
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
            synthetic_tasks=any(load_task(p).synthetic for p in paths),
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
    if session.synthetic_tasks:
        console.print(f"[yellow]{SYNTHETIC_NOTE}[/]")
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
    if p.synthetic_tasks:
        console.print(f"[yellow]{SYNTHETIC_NOTE}[/]")
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


# --- the description branch (`skvm optimize --description`) ---


def _description_base(skill, target: str, workspace) -> tuple[Path, str]:
    """The variant a description proposal changes: the accepted one, else the compiler's,
    else (no profile to compile for) the skill as written."""
    try:
        return baseline_variant(skill, target, workspace), "changes the target's variant"
    except SkvmError as exc:
        reason = exc.message.splitlines()[0]
        return skill.root, f"changes the skill as written ({reason})"


def cmd_optimize_description(args: argparse.Namespace) -> int:
    from skvm_core.bench.trigger_prompts import prompt_set
    from skvm_core.bench.triggers import TriggerOptions
    from skvm_core.commands.triggers import checked_targets, offered_skill, trigger_out
    from skvm_core.llm.models import check_model_ready
    from skvm_core.optimize.description import optimize_description
    from skvm_core.store.workspace import Workspace

    if args.resume:
        raise SkvmError(
            "--description sessions resume by running the same command again",
            hint="drop --resume: finished runs and proposed descriptions are read back",
        )
    workspace = Workspace.default()
    skill = offered_skill(args.skill)
    targets = checked_targets(args.target)
    if len(targets) > 1:
        raise SkvmError("--description optimizes for one target", hint="give one model id")
    target = targets[0]
    proposer = args.proposer or target
    check_model_ready(proposer)
    prompts = prompt_set(skill, workspace)
    out = trigger_out(args, skill, workspace)
    base, note = _description_base(skill, target, workspace)
    session = asyncio.run(
        optimize_description(
            skill,
            prompts,
            target=target,
            harness="bare",
            proposer=proposer,
            rounds=args.rounds,
            seed=args.seed,
            options=TriggerOptions(runs=args.runs),
            workspace=workspace,
            out=out,
            base_variant=base,
            base_note=note,
            progress=lambda m: console.print(f"[dim]{escape(m)}[/]"),
        )
    )
    table = Table(title=f"description · {skill.name} on {target} (load − false loads)")
    for column in ("#", "origin", "train", "held-out", "description"):
        table.add_column(column, overflow="fold")
    for c in session.candidates:
        held = "—" if c.held_out is None else f"{c.held_out:+.2f}"
        if c.problem:
            train = f"refused: {c.problem}"
        else:
            train = "—" if c.train is None else f"{c.train:+.2f}"
        table.add_row(str(c.index), escape(c.origin), escape(train), held, escape(c.description))
    console.print(table)
    console.print(
        f"{len(session.train)} training and {len(session.held_out)} held-out prompts "
        f"({session.origin}); {escape(session.reason)}"
    )
    if session.proposal:
        console.print(f"proposal {session.proposal}: `skvm proposals show {session.proposal}`")
    else:
        console.print("no proposal")
    return EXIT_OK
