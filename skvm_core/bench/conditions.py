"""Bench conditions: which skill (if any) a run gets. A registry, so runtime conditions
(solidified, recompiled) can be added later under their own names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skvm_core.errors import SkvmError
from skvm_core.run.runner import task_skill
from skvm_core.run.task import Task
from skvm_core.skill import Skill, load_skill
from skvm_core.store.workspace import Workspace


@dataclass(frozen=True)
class ConditionContext:
    workspace: Workspace
    profile_for: Callable[[str], object]  # target → TCP (raises when missing)
    passes: list[str] | None = None


Resolver = Callable[[Task, str, ConditionContext], Skill | None]


def _no_skill(task: Task, target: str, ctx: ConditionContext) -> Skill | None:
    return None


def _original(task: Task, target: str, ctx: ConditionContext) -> Skill | None:
    skill = task_skill(task)
    if skill is None:
        raise SkvmError(
            f"task {task.id} names no skill, so the original condition has nothing to run"
        )
    return skill


def compiled_variant(skill: Skill, target: str, workspace: Workspace) -> Skill:
    """The target's variant of `skill`: the one a person accepted, else the compiler's,
    against the target's profile."""
    from skvm_core.profile.store import profile_for_protocol

    ctx = ConditionContext(
        workspace, lambda name: profile_for_protocol(name, "auto", workspace), None
    )
    return _compile(skill, target, ctx, use_accepted=True)


def _accepted(task: Task, target: str, ctx: ConditionContext) -> Skill | None:
    """The variant a person accepted for the target (`skvm proposals accept`), else the
    compiler's: what the workbench and an export run."""
    return _compile(_original(task, target, ctx), target, ctx, use_accepted=True)


def _compiled(
    task: Task, target: str, ctx: ConditionContext, compiler_model: str | None = None
) -> Skill | None:
    return _compile(_original(task, target, ctx), target, ctx, compiler_model)


def _compile(
    skill: Skill,
    target: str,
    ctx: ConditionContext,
    compiler_model: str | None = None,
    *,
    use_accepted: bool = False,
) -> Skill:
    """The compiler's variant; with `use_accepted`, one a person accepted comes first. The
    bench's `compiled` never takes an accepted proposal (that is the `accepted` condition)."""
    from skvm_core.compile import compile_skill
    from skvm_core.compile.accepted import compiled_or_error, variant_folder
    from skvm_core.config import synthesis_model
    from skvm_core.harness import split_target

    def compiled():
        result = compile_skill(
            skill,
            ctx.profile_for(target),
            passes=ctx.passes,
            compiler_model=compiler_model,
            synthesis_model=synthesis_model() if compiler_model is None else None,
            cache_dir=ctx.workspace.compile_cache,
            harness=split_target(target)[1],
        )
        return compiled_or_error(result, target)

    # A variant a person accepted (`skvm proposals accept`) is the target's variant, unless
    # the condition names its own compiler or passes.
    chosen = use_accepted and compiler_model is None and ctx.passes is None
    return load_skill(
        variant_folder(skill.name, target, ctx.workspace, compiled, use_accepted=chosen)
    )


CONDITIONS: dict[str, Resolver] = {
    "no-skill": _no_skill,
    "original": _original,
    "compiled": _compiled,
    "accepted": _accepted,
    # The original skill under the JIT runtime (skvm_core/jit): promoted templates do the
    # work without the model, candidates run in the model path's shadow.
    "solidified": _original,
}
# Conditions whose runs go through a runtime instead of the bare agent alone; the first
# runs of each are warm-up (see BenchPlan.warmup).
RUNTIME_CONDITIONS = frozenset({"solidified"})


def is_runtime_condition(name: str) -> bool:
    return split_protocol(name)[0] in RUNTIME_CONDITIONS


# `compiled@serial` runs the variant with fan-out off, `compiled@parallel` with it on (auto),
# whatever the plan says: the same variant both ways, side by side.
EXECUTION_SUFFIXES = {"serial": "off", "parallel": "auto"}


def split_execution(name: str) -> tuple[str, str | None]:
    """`compiled@serial` → (`compiled`, `off`); no such suffix → (name, None)."""
    base, sep, suffix = name.rpartition("@")
    if sep and suffix in EXECUTION_SUFFIXES:
        return base, EXECUTION_SUFFIXES[suffix]
    return name, None


def split_protocol(name: str) -> tuple[str, str | None]:
    """`original@native` → (`original`, `native`): a condition run under a named action
    protocol instead of the plan's; the label keeps the suffix, so both show side by side."""
    from skvm_core.agent.protocols import PROTOCOL_CHOICES

    name, _ = split_harness(name)
    name, _ = split_execution(name)
    base, sep, protocol = name.rpartition("@")
    if not sep or name.startswith("custom:") and "=" in base:
        return name, None
    if protocol not in PROTOCOL_CHOICES:
        raise SkvmError(
            f"unknown protocol {protocol!r} in condition {name!r}",
            hint=f"use one of: {', '.join(PROTOCOL_CHOICES)}",
        )
    return base, protocol


def split_harness(name: str) -> tuple[str, str]:
    """`original+opencode` → (`original`, `opencode`): the condition run in an external
    agent harness; without a suffix, our own agent (`bare`)."""
    from skvm_core.harness import split_target

    return split_target(name)


def with_harness(condition: str, harness: str) -> str:
    return condition if harness == "bare" else f"{condition}+{harness}"


def resolve_condition(name: str) -> Resolver:
    """A registered condition, `compiled:<compiler model>`, or `custom:<label>=<dir>` for any
    skill folder; any may end in `@<protocol>`. `<dir>` is one skill, or a folder of skills by name (each task then
    gets the one named like its own skill)."""
    name, _ = split_protocol(name)
    if name in CONDITIONS:
        return CONDITIONS[name]
    if name.startswith("compiled:") and len(name) > len("compiled:"):
        # Compiled with a compiler model (e.g. the 1.5B compiling for the 0.5B).
        model = name.removeprefix("compiled:")
        return lambda task, target, ctx: _compiled(task, target, ctx, compiler_model=model)
    if name.startswith("custom:") and "=" in name:
        folder = Path(name.split("=", 1)[1]).expanduser()
        return lambda task, target, ctx: load_skill(_custom_skill_folder(folder, task))
    raise SkvmError(
        f"unknown condition {name!r}",
        hint=f"use {', '.join(CONDITIONS)}, compiled:<compiler model> or custom:<label>=<skill dir>",
    )


def _custom_skill_folder(folder: Path, task) -> Path:
    if (folder / "SKILL.md").is_file():
        return folder
    own = task_skill(task)
    if own is not None and (folder / own.name / "SKILL.md").is_file():
        return folder / own.name
    raise SkvmError(
        f"{folder} is neither a skill nor a folder holding one named like task {task.id}'s skill",
        hint="give a skill folder, or a folder of skill folders named by skill",
    )


def condition_label(name: str) -> str:
    return name.split("=", 1)[0] if name.startswith("custom:") else name
