"""`skvm task new|check|list`: tasks for any skill, without hand-written JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_FAIL, EXIT_OK

console = cli_console()


def _skill(path: str):
    from skvm_core.skill import load_skill

    return load_skill(Path(path).expanduser())


def cmd_task_new(args: argparse.Namespace) -> int:
    from skvm_core.run.authoring import write_new_task
    from skvm_core.store.workspace import Workspace

    folder = write_new_task(
        _skill(args.skill),
        Workspace.default(),
        prompt=args.prompt,
        expectations=args.expect or [],
        files=[Path(f).expanduser() for f in args.file or []],
        task_id=args.id,
    )
    console.print(f"wrote {escape(str(folder / 'task.json'))}")
    return EXIT_OK


def cmd_task_check(args: argparse.Namespace) -> int:
    from skvm_core.run.authoring import check_task

    failed = 0
    for path in args.paths:
        problems = check_task(Path(path).expanduser())
        failed += bool(problems)
        mark = "[red]✗[/]" if problems else "[green]✓[/]"
        console.print(f"{mark} {escape(path)}")
        for problem in problems:
            console.print(f"    {escape(problem)}")
    return EXIT_FAIL if failed else EXIT_OK


def _print_tasks(tasks) -> None:
    for task in tasks:
        checks = ", ".join(sorted({c.method for c in task.eval})) or "no checks"
        console.print(f"{task.id}  {escape(str(task.task_dir))}  ({checks})")


def cmd_task_list(args: argparse.Namespace) -> int:
    from skvm_core.bench.synthetic import synthetic_tasks
    from skvm_core.run.authoring import tasks_for_skill
    from skvm_core.store.workspace import Workspace

    skill, workspace = _skill(args.skill), Workspace.default()
    tasks = tasks_for_skill(skill, workspace)
    _print_tasks(tasks)
    made = synthetic_tasks(skill, workspace)
    if made:
        console.print(f"synthetic ({len(made)}, built from the skill's contract):")
        _print_tasks(made)
    if not tasks and not made:
        console.print(
            "no tasks name this skill; add one with `skvm task new`, or build some from its "
            "contract with `skvm task synthesise`"
        )
    return EXIT_OK


def cmd_task_synthesise(args: argparse.Namespace) -> int:
    from skvm_core.bench.synthetic import write_synthetic_tasks
    from skvm_core.config import synthesis_model
    from skvm_core.run.task import load_task
    from skvm_core.store.workspace import Workspace

    model = args.synthesis_model or synthesis_model()
    folders = write_synthetic_tasks(
        _skill(args.skill), Workspace.default(), model, run_synthesis=args.run_synthesis
    )
    for folder in folders:
        task = load_task(folder)
        console.print(
            f"wrote {escape(str(folder / 'task.json'))}: {len(task.eval)} checks; "
            f"expected values: {escape(str(task.origin.get('expected')))}"
        )
    return EXIT_OK
