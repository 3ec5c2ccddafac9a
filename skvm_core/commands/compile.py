"""`skvm compile`, `skvm explain`, `skvm diff`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from skvm_core.commands.console import cli_console
from skvm_core.errors import EXIT_FAIL, EXIT_OK

console = cli_console()


def _inputs(args: argparse.Namespace):
    from skvm_core.profile.store import load_profile
    from skvm_core.profile.tcp import load_tcp
    from skvm_core.skill import load_skill
    from skvm_core.store.workspace import Workspace

    workspace = Workspace.default()
    skill = load_skill(args.skill)
    tcp = (
        load_tcp(args.profile)
        if getattr(args, "profile", None)
        else load_profile(args.target, workspace)
    )
    return workspace, skill, tcp


def compiler_models(named: str | None) -> tuple[str | None, str | None]:
    """(compiler model, synthesis model) for `--compiler-model`: a model id does both,
    `none` neither (the static compiler), and nothing the configured synthesis model."""
    from skvm_core.config import synthesis_model

    if named is None:
        return None, synthesis_model()
    if named.strip().lower() == "none":
        return None, None
    return named, None


def cmd_compile(args: argparse.Namespace) -> int:
    from skvm_core.compile import compile_skill, variant_dir, write_variant
    from skvm_core.compile.variant import check_output_folder

    workspace, skill, tcp = _inputs(args)
    passes = [p.strip() for p in args.passes.split(",")] if args.passes else None
    compiler, synthesis = compiler_models(args.compiler_model)
    from skvm_core.harness import split_target

    result = compile_skill(
        skill,
        tcp,
        passes=passes,
        compiler_model=compiler,
        synthesis_model=synthesis,
        cache_dir=workspace.compile_cache,
        harness=split_target(args.target)[1] if getattr(args, "target", None) else "bare",
    )
    out = Path(args.out) if args.out else variant_dir(workspace, result)
    if args.out:
        check_output_folder(out, result.skill.root, force=args.force)
    write_variant(result, out)
    table = Table(title=f"compile {skill.name} for {tcp.model}")
    for column in ("pass", "state", "ms", "tokens"):
        table.add_column(column)
    for record in result.records:
        state = (
            f"[red]error: {escape(record.error)}[/]"
            if record.error
            else (
                f"[yellow]skipped: {record.skipped}[/]"
                if record.skipped
                else ("cached" if record.cached else "ran")
            )
        )
        table.add_row(record.id, state, f"{record.ms:.1f}", str(record.usage.total or ""))
    console.print(table)
    variant = result.variant
    if variant is not None:
        original, compiled = result.prompt_tokens
        console.print(
            f"{len(result.gaps)} gaps, {len(variant.gaps_compensated)} compensated, {len(variant.source_map)} source-map entries"
        )
        console.print(
            f"skill text the model reads: ~{original:,} tokens original, ~{compiled:,} compiled"
            f" ({compiled / max(1, original):.2f}x) · acts {result.protocol.describe()}"
        )
        lowering = result.artifacts.get("lower")
        if lowering is not None:
            console.print(f"lowering: {escape(lowering.reason)}")
        for violation in variant.guard_violations:
            console.print(f"[red]guard: {escape(violation)}[/]")
    console.print(f"variant: {out}")
    return EXIT_FAIL if result.errors or (variant and variant.guard_violations) else EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from skvm_core.compile import compile_skill

    workspace, skill, tcp = _inputs(args)
    result = compile_skill(skill, tcp, passes=["gaps"], cache_dir=workspace.compile_cache)
    lines = skill.source.splitlines()
    if not result.gaps:
        console.print(f"[green]{skill.name} asks nothing of {tcp.model} beyond its profile.[/]")
        return EXIT_OK
    console.print(f"[bold]{len(result.gaps)} gaps of {tcp.model} for {skill.name}[/]")
    for gap in sorted(result.gaps, key=lambda g: (-g.severity, g.lines or (0, 0))):
        colour = {"missing": "red", "weak": "yellow", "unknown": "dim"}[gap.gap_type]
        console.print(
            f"\n[{colour}]{gap.gap_type}[/] {escape(gap.label)} · purpose {gap.purpose_id} · {escape(gap.evidence)}"
        )
        if gap.lines:
            for number in range(gap.lines[0], min(gap.lines[1], gap.lines[0] + 5) + 1):
                console.print(f"  [dim]{number:4d}│[/] {escape(lines[number - 1])}")
    _explain_contract(skill, result, workspace)
    return EXIT_OK


def _explain_contract(skill, result, workspace) -> None:
    """The contract a synthesised script is held to, and what synthesis did (if it ran)."""
    from skvm_core.compile.contract import extract_contract
    from skvm_core.compile.lower import wants_lowering
    from skvm_core.compile.synthesis import stored_synthesis
    from skvm_core.config import synthesis_model

    contract = extract_contract(skill)
    console.print("\n[bold]contract[/] (what a script for this skill is checked against)")
    items = [*contract.inputs, *contract.outputs]
    for shape, line in zip(items, contract.summary(), strict=False):
        cite = ", ".join(f"{c.file}:{c.lines[0]}" for c in shape.cited[:3])
        console.print(f"  {escape(line)} [dim]({cite})[/]")
    for rule in contract.rules:
        console.print(
            f"  rule: {escape(rule.text)} [dim]({rule.cited.file}:{rule.cited.lines[0]})[/]"
        )
    if not contract.computable:
        console.print("  [dim]no named input and output: nothing for a script to be checked on[/]")
    model = synthesis_model()
    if model is None or not wants_lowering(result.gaps):
        return
    done = stored_synthesis(skill, model, {"synthesis_model": model}, workspace.compile_cache)
    if done is None:
        console.print(f"\nsynthesis by {model}: not run yet (`skvm compile` runs it; minutes)")
        return
    verdict = "[green]offered[/]" if done.offered else "[yellow]nothing offered[/]"
    console.print(
        f"\nsynthesis by {model}: {verdict}: {escape(done.reason)} "
        f"({done.agreement[0]} of {done.agreement[1]} agree; {done.seconds:.0f} s, {done.tokens} tokens)"
    )


def cmd_diff(args: argparse.Namespace) -> int:
    left, right = Path(args.left), Path(args.right)
    left_file = left / "SKILL.md" if left.is_dir() else left
    right_file = right / "SKILL.md" if right.is_dir() else right
    from skvm_core.errors import SkvmError

    for file in (left_file, right_file):
        if not file.is_file():
            raise SkvmError(
                f"{file} does not exist",
                hint="pass two skill or variant folders (or SKILL.md files)",
            )

    def text_of(file: Path) -> list[str]:
        try:
            return file.read_text("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise SkvmError(
                f"{file} is not UTF-8 text (byte {exc.start})", hint="diff compares skill text"
            ) from exc

    from skvm_core.textdiff import unified

    diff = unified(text_of(left_file), text_of(right_file), str(left_file), str(right_file))
    for line in diff:
        style = (
            "green"
            if line.startswith("+")
            else ("red" if line.startswith("-") else ("cyan" if line.startswith("@@") else ""))
        )
        console.print(f"[{style}]{escape(line)}[/]" if style else escape(line))
    return EXIT_OK
