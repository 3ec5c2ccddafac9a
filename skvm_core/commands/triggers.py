"""`skvm triggers`: does the target load the skill when the request is one it is for, and
leave it alone when it is not? And the description branch of `skvm optimize`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_OK, SkvmError

console = cli_console()


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _rate(r) -> str:
    if r.rate is None:
        return "not measured"
    return f"{_pct(r.rate)} ({r.hits}/{r.runs}; {_pct(r.low)}–{_pct(r.high)})"


def checked_targets(text: str | None) -> list[str]:
    from skvm_core.llm.models import check_model_ready

    targets = [t.strip() for t in (text or "").split(",") if t.strip()]
    if not targets:
        raise SkvmError("give --target MODEL", hint="e.g. --target local/qwen2.5-coder-1.5b")
    for target in targets:
        check_model_ready(target)
    return targets


def _harnesses(names: list[str] | None) -> list[str]:
    from skvm_core.harness import get_harness
    from skvm_core.harness.external import ExternalHarness

    chosen = list(dict.fromkeys(names or ["bare"]))
    for name in chosen:
        harness = get_harness(name)
        if isinstance(harness, ExternalHarness):
            harness.cli()  # not installed: say so before any run
    return chosen


def offered_skill(folder: str | None):
    from skvm_core.skill import load_skill

    if not folder:
        raise SkvmError("give --skill FOLDER", hint="the folder that holds SKILL.md")
    skill = load_skill(folder)
    for diagnostic in skill.errors:
        console.print(f"[yellow]{escape(str(diagnostic))}[/]")
    if not skill.description.strip():
        raise SkvmError(
            f"{skill.name} has no description, so there is nothing a harness could offer",
            hint="add `description:` to the front matter of SKILL.md",
        )
    return skill


def trigger_out(args: argparse.Namespace, skill, workspace) -> Path:
    from skvm_core.store.names import folder_name

    if getattr(args, "out", None):
        return Path(args.out).expanduser()
    return workspace.root / "triggers" / folder_name(skill.name)


def cmd_triggers(args: argparse.Namespace) -> int:
    from skvm_core.bench.trigger_prompts import prompt_set
    from skvm_core.bench.trigger_report import build_report, write_report
    from skvm_core.bench.triggers import TriggerOptions, TriggerStore, offer_key, run_triggers
    from skvm_core.store.workspace import Workspace

    workspace = Workspace.default()
    skill = offered_skill(args.skill)
    targets = checked_targets(args.target)
    harnesses = _harnesses(args.harness)
    prompts = prompt_set(skill, workspace, args.prompts)
    options = TriggerOptions(runs=args.runs, seed=args.seed, max_steps=args.max_steps)
    out = trigger_out(args, skill, workspace)
    kinds = len(prompts.of_kind(True)), len(prompts.of_kind(False))
    console.print(
        f"triggers of {escape(skill.name)}: {kinds[0]} should-trigger and {kinds[1]} "
        f"should-not-trigger prompts ({prompts.origin}), {options.runs} run(s) each, "
        f"records in {escape(str(out))}"
    )
    records = asyncio.run(
        run_triggers(
            skill,
            prompts.prompts,
            targets,
            harnesses,
            options,
            TriggerStore(out),
            workspace,
            progress=lambda m: console.print(f"[dim]{escape(m)}[/]"),
        )
    )
    report = build_report(skill, prompts, records, offer_key(skill, options), options.runs)
    json_path, md_path = write_report(out, report)
    table = Table(title=f"triggers · {skill.name} (95% intervals)")
    for column in ("target", "harness", "load rate", "false loads", "load − false", "tainted"):
        table.add_column(column, overflow="fold")
    for c in report.cells:
        table.add_row(
            escape(c.target),
            c.harness,
            _rate(c.load),
            _rate(c.false_load),
            "—" if c.score is None else f"{c.score:+.2f}",
            str(c.tainted),
        )
    console.print(table)
    console.print(f"[dim]report: {json_path} · {md_path}[/]")
    return EXIT_OK
