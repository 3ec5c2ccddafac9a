"""`skvm export`, `skvm serve`, `skvm harness list|install`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_FAIL, EXIT_OK, SkvmError

console = cli_console()


def cmd_export(args: argparse.Namespace) -> int:
    from skvm_core.harness import get_harness
    from skvm_core.skill import load_skill
    from skvm_core.store.workspace import Workspace

    skill = load_skill(args.skill)
    if not skill.is_valid:
        raise SkvmError(
            f"{args.skill} is not a valid skill: {skill.errors[0]}",
            hint="fix it (`skvm skill check`) before exporting",
        )
    project = Path(args.into).expanduser()
    if not project.is_dir():
        raise SkvmError(f"{project} is not a folder", hint="give the project folder to export into")
    if not args.original:
        from skvm_core.bench.conditions import compiled_variant, with_harness

        # The variant for the model in that harness: its tool names, its description.
        from skvm_core.harness import split_target

        in_harness = split_target(args.target)[1] != "bare"
        target = args.target if in_harness else with_harness(args.target, args.harness)
        skill = compiled_variant(skill, target, Workspace.default())
    harness = get_harness(args.harness)
    placed = export_skill(harness, skill, project.resolve(), force=args.force)
    what = "skill" if args.original else f"variant for {args.target}"
    console.print(
        f"{what} written to [bold]{escape(str(placed))}[/] ({args.harness} loads it there)"
    )
    if getattr(args, "always_on", False):
        from skvm_core.harness.always_on import write_always_on

        written = write_always_on(args.harness, skill, project.resolve(), what)
        console.print(
            f"its steps written into [bold]{escape(str(written))}[/] (read every session)"
        )
    return EXIT_OK


EXPORT_MARK = ".skvm-export.json"


def export_skill(harness, skill, project: Path, *, force: bool = False) -> Path:
    """Install `skill` where `harness` loads skills in `project`, losing nothing: the skill
    is never its own target, and a folder there that no export wrote stays unless forced."""
    import json

    from skvm_core.store.atomic import atomic_write_text
    from skvm_core.store.beneath import UnsafePath

    if harness.skills_folder is None:
        raise SkvmError(f"the {harness.name} harness has no skills folder to export into")
    target = project / harness.skills_folder / skill.name
    source = skill.root.resolve()
    seen = target.resolve() if target.exists() else target
    if source == seen or source in seen.parents or seen in source.parents:
        raise SkvmError(
            f"{skill.root} already is the {harness.name} skill folder {target}; nothing to export",
            hint="export the compiled variant (without --original), or into another project",
        )
    ours = not target.is_symlink() and (target / EXPORT_MARK).is_file()
    if (target.exists() or target.is_symlink()) and not force and not ours:
        raise SkvmError(
            f"{target} exists and was not written by skvm export; it was left as it is",
            hint="move it away, or pass --force to replace it",
        )
    try:
        placed = harness.install_skill(skill, project)
    except UnsafePath as exc:
        raise SkvmError(
            f"not exported: {exc}", hint="the project's skill folder runs through a link"
        ) from exc
    atomic_write_text(
        placed / EXPORT_MARK, json.dumps({"source": str(skill.root), "skill": skill.name}) + "\n"
    )
    return placed


def cmd_serve(args: argparse.Namespace) -> int:
    from skvm_core.llm.models import check_model_ready
    from skvm_core.serve import ModelServer

    check_model_ready(args.model)

    async def serve() -> None:
        def on_call(call) -> None:
            usage = call.response.usage if call.response else None
            figures = f"{usage.input} in / {usage.output} out" if usage else call.error
            console.print(f"[dim]{call.api}: {len(call.request.messages)} messages, {figures}[/]")

        server = ModelServer(args.model, port=args.port, on_call=on_call)
        url = await server.start()
        console.print(
            f"serving [bold]{escape(args.model)}[/] at [bold]{url}[/] "
            "(Chat Completions and Responses); Ctrl+C stops"
        )
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return EXIT_OK


def cmd_harness_list(args: argparse.Namespace) -> int:
    from skvm_core.harness.install import CLIS, harness_dir, installed_version

    table = Table(title=f"Agent harnesses ({harness_dir()})")
    for column in ("harness", "package", "pinned", "installed"):
        table.add_column(column)
    table.add_row("bare", "(built in)", "", "yes")
    missing = False
    for name, cli in CLIS.items():
        version = installed_version(name)
        missing = missing or version is None
        table.add_row(name, cli.package, cli.version, version or "[yellow]not installed[/]")
    console.print(table)
    if missing:
        console.print("[dim]install them with `make harnesses` or `skvm harness install`[/]")
    return EXIT_OK


def cmd_harness_install(args: argparse.Namespace) -> int:
    from skvm_core.harness.install import CLIS, install

    unknown = [name for name in args.names if name not in CLIS]
    if unknown:
        raise SkvmError(f"unknown harness {unknown[0]!r}", hint=f"use one of: {', '.join(CLIS)}")
    folder = install(args.names or None)
    console.print(f"installed into {escape(str(folder))}")
    return EXIT_OK if folder.is_dir() else EXIT_FAIL
