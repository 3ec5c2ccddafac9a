"""`skvm jit`: the solidified templates of each skill on each target."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_OK, SkvmError

console = cli_console()


def _store():
    from skvm_core.jit import JitStore
    from skvm_core.store.workspace import Workspace

    return JitStore(Workspace.default())


def _skill_name(value: str) -> str:
    """A skill folder's name from its SKILL.md, or the value itself as a name."""
    if (Path(value).expanduser() / "SKILL.md").is_file():
        from skvm_core.skill import load_skill

        return load_skill(value).name
    return value


def _find(template_prefix: str, target: str | None = None):
    """(state, record) for a template id or unique prefix, across every skill and target
    (or one target: the same template may serve several)."""
    matches = [
        (state, record)
        for state in _store().all()
        for template_id, record in state.templates.items()
        if template_id.startswith(template_prefix) and target in (None, state.target)
    ]
    if not matches:
        raise SkvmError(f"no template {template_prefix!r}", hint="`skvm jit list` shows them")
    if len(matches) > 1:
        where = ", ".join(f"{s.skill}/{s.target}" for s, _ in matches[:5])
        raise SkvmError(
            f"{template_prefix!r} names {len(matches)} templates ({where})",
            hint="give more of the id, or --target",
        )
    return matches[0]


def cmd_jit_list(args: argparse.Namespace) -> int:
    skill = _skill_name(args.skill) if args.skill else None
    table = Table(title="Solidified templates")
    # Ids and statuses are what users copy and scan: never broken across lines.
    table.add_column("template", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("skill · target", "from", "shadow ok", "uses ok"):
        table.add_column(column, overflow="fold")
    count = 0
    for state in _store().all():
        if (skill and state.skill != skill) or (args.target and state.target != args.target):
            continue
        for template_id, record in state.templates.items():
            uses = [t for t in record.trials if t.mode == "promoted"]
            shadows = [t for t in record.trials if t.mode == "shadow"]
            table.add_row(
                template_id,
                record.status,
                escape(f"{state.skill} · {state.target}"),
                f"{record.template.source} ({len(record.template.origins)})",
                f"{sum(t.ok for t in shadows)}/{len(shadows)}",
                f"{sum(t.ok for t in uses)}/{len(uses)}",
            )
            count += 1
    if not count:
        console.print(
            "no templates yet: they come from passing runs (`skvm run --jit`, the solidified bench condition, `skvm jit harvest`)"
        )
        return EXIT_OK
    console.print(table)
    return EXIT_OK


def cmd_jit_show(args: argparse.Namespace) -> int:
    from skvm_core.jit.harvest import quoted_preview

    state, record = _find(args.template, args.target)
    template = record.template
    console.print(
        f"[bold]{template.id}[/] · {state.skill} on {state.target} · {record.status} · from {template.source}"
    )
    if record.note:
        console.print(f"[dim]{escape(record.note)}[/]")
    params = Table(title="parameters")
    for column in ("name", "kind", "examples", "rules"):
        params.add_column(column, overflow="fold")
    for param in template.params:
        params.add_row(
            param.name,
            param.kind,
            escape(", ".join(param.examples)),
            escape(", ".join(param.locators) or "model"),
        )
    console.print(params)
    console.print(
        "[bold]steps[/] (parameters are environment variables, never pasted into the text)"
    )
    console.print(
        escape(
            quoted_preview(template, {p.name: p.examples[0] for p in template.params if p.examples})
        )
    )
    if record.trials:
        trials = Table(title="trials")
        for column in ("run", "task", "mode", "ok", "ms", "bound", "reason"):
            trials.add_column(column, overflow="fold")
        for trial in record.trials[-20:]:
            trials.add_row(
                trial.run_id,
                trial.task_id,
                trial.mode,
                "yes" if trial.ok else "no",
                f"{trial.duration_ms:.0f}",
                escape(", ".join(f"{k}={v}" for k, v in trial.bound.items())),
                escape(trial.reason),
            )
        console.print(trials)
    return EXIT_OK


def _set_status(prefix: str, target: str | None, status: str, note: str) -> int:
    state, record = _find(prefix, target)
    with _store().update(state.skill, state.target) as fresh:
        stored = fresh.templates[record.template.id]
        stored.status = status
        stored.note = note
        stored.failures_in_a_row = 0
    console.print(f"{record.template.id} ({state.skill} on {state.target}) is now {status}")
    return EXIT_OK


def cmd_jit_promote(args: argparse.Namespace) -> int:
    return _set_status(args.template, args.target, "promoted", "promoted by hand")


def cmd_jit_demote(args: argparse.Namespace) -> int:
    return _set_status(args.template, args.target, "demoted", "demoted by hand")


def cmd_jit_harvest(args: argparse.Namespace) -> int:
    from skvm_core.jit.candidates import refresh_candidates
    from skvm_core.skill import load_skill
    from skvm_core.store.workspace import Workspace

    skill = load_skill(args.skill)
    added = refresh_candidates(_store(), skill, args.target, Workspace.default())
    console.print(f"{added} new candidate template(s) for {skill.name} on {args.target}")
    return EXIT_OK


def cmd_jit_propose(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile

    from skvm_core.jit import TemplateRecord
    from skvm_core.jit.propose import propose
    from skvm_core.llm.models import check_model_ready
    from skvm_core.run.runner import prepare_work_dir, task_skill
    from skvm_core.run.task import load_task
    from skvm_core.skill import load_skill

    task = load_task(args.task)
    skill = load_skill(args.skill) if args.skill else task_skill(task)
    if skill is None:
        raise SkvmError(f"task {task.id} names no skill", hint="give --skill")
    check_model_ready(args.model)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "work"
        prepare_work_dir(task, folder)
        template = asyncio.run(propose(skill, task, folder, args.model))
    with _store().update(skill.name, args.target) as state:
        if template.id not in state.templates:
            state.templates[template.id] = TemplateRecord(
                template=template, note=f"proposed by {args.model} from task {task.id}"
            )
    console.print(
        f"candidate {template.id} for {skill.name} on {args.target}: "
        f"{len(template.params)} parameter(s); it runs in the shadow of the next runs until trusted"
    )
    return EXIT_OK


def cmd_jit_reset(args: argparse.Namespace) -> int:
    skill = _skill_name(args.skill)
    if _store().reset(skill, args.target):
        console.print(f"forgot every template of {skill} on {args.target}")
    else:
        console.print(f"nothing stored for {skill} on {args.target}")
    return EXIT_OK
