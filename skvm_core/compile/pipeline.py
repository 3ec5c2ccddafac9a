"""The compile pipeline: its passes, and `compile_skill` which runs them for one target."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from skvm_core.agent.protocols import ProtocolDecision, choose_protocol
from skvm_core.agent.toolset import ToolSelection, select_tools
from skvm_core.compile.analyze import PARALLEL_WORDS, analyze
from skvm_core.compile.bind_env import EnvBinding, bind_environment
from skvm_core.compile.contract import extract_contract
from skvm_core.compile.executable import ScriptHelp, script_help
from skvm_core.compile.gaps import find_gaps
from skvm_core.compile.lower import LoweredSkill, lower, lowering_guard, offered, wants_lowering
from skvm_core.compile.manager import Pass, PassContext, PassManager, PassRecord
from skvm_core.compile.model import SCR, Gap, SourceMapEntry
from skvm_core.compile.parallel import Workflow, concurrency_notes, extract_workflow
from skvm_core.compile.rewrite import Insertion, apply_insertions, guard, plan_insertions
from skvm_core.compile.synthesis import Synthesis, cached_synthesis
from skvm_core.compile.verifier import Verifier
from skvm_core.profile.tcp import TCP
from skvm_core.skill import Skill


class PlannedNote(BaseModel):
    after_line: int
    lines: list[str]
    gap: Gap | None = None
    rule: str
    primitive: str | None = None


class RewriteOutput(BaseModel):
    mode: str = "static"  # "static" or "llm:<model>"
    notes: list[PlannedNote] = Field(default_factory=list)
    text: str | None = None  # set when an LLM produced the whole text
    llm_violations: list[str] = Field(default_factory=list)


class VariantText(BaseModel):
    text: str
    source_map: list[SourceMapEntry]
    guard_violations: list[str] = Field(default_factory=list)
    gaps_compensated: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)  # files the variant adds: path → text
    lowered: bool = False
    replaced: list[str] = Field(default_factory=list)  # requirement lines left out, and why


class Lowering(BaseModel):
    """The lower pass's answer: a lowered skill, or why the text stays as written."""

    skill: LoweredSkill | None = None
    violations: list[str] = Field(default_factory=list)  # the guard's, checked once here
    reason: str
    synthesis: Synthesis | None = None  # what the compiler model's synthesis did, if it ran


def _analyze(context: PassContext, inputs: dict[str, Any]) -> SCR:
    scr = analyze(inputs["skill"])
    scr.contract = extract_contract(inputs["skill"])
    model = inputs["options"].get("compiler_model")
    if model:
        from skvm_core.compile.llm_compile import llm_analyze

        scr = llm_analyze(inputs["skill"], scr, model, context)
    return scr


def _gaps(context: PassContext, inputs: dict[str, Any]) -> list[Gap]:
    return find_gaps(inputs["analyze"], inputs["tcp"])


def _rewrite(context: PassContext, inputs: dict[str, Any]) -> RewriteOutput:
    skill, scr, gaps = inputs["skill"], inputs["analyze"], inputs["gaps"]
    planned = [
        PlannedNote(
            after_line=i.after_line,
            lines=i.lines,
            gap=i.gap,
            rule=i.rule,
            primitive=i.gap.primitive_id,
        )
        for i in plan_insertions(skill, scr, gaps)
    ]
    output = RewriteOutput(notes=planned)
    model = inputs["options"].get("compiler_model")
    # A weak target is lowered instead (the lower pass asks the model for a script).
    if model and gaps and not wants_lowering(gaps):
        from skvm_core.compile.llm_compile import llm_rewrite

        text, violations = llm_rewrite(skill, gaps, model, context)
        if text is not None:
            output.mode, output.text = f"llm:{model}", text
        output.llm_violations = violations
    return output


def _executable(context: PassContext, inputs: dict[str, Any]) -> list[ScriptHelp]:
    return script_help(inputs["skill"], context.verifier)


def _lower(context: PassContext, inputs: dict[str, Any]) -> Lowering:
    skill, gaps, tcp = inputs["skill"], inputs["gaps"], inputs["tcp"]
    if not wants_lowering(gaps):
        return Lowering(reason="the target meets the skill's code, reasoning and procedure needs")
    scripts = offered(inputs["executable"])
    options = inputs["options"]
    model = options.get("compiler_model") or options.get("synthesis_model")
    synthesis = None
    if not scripts and model:
        synthesis = cached_synthesis(skill, model, options, context)
        helped = synthesis.help()
        scripts = [helped] if helped is not None else []
    if not scripts:
        return Lowering(
            reason="the skill ships no script that runs (checked in the sandbox)"
            + (f"; synthesis by {model}: {synthesis.reason}" if synthesis else "")
            + ", so there is nothing executable to lower to; the text stays as written.",
            synthesis=synthesis,
        )
    protocol = choose_protocol(tcp.model, dict(tcp.capabilities)).protocol
    names = ", ".join(s.script for s in scripts)
    harness = options.get("harness", "bare")
    lowered = lower(skill, scripts, gaps, protocol, harness)
    violations = lowering_guard(skill, lowered, budget=True)
    over = [v for v in violations if "tokens" in v]
    if over:
        return Lowering(reason=f"not lowered: even the shortest lowering is too long ({over[0]})")
    if harness != "bare":  # the one change to the front matter a lowering makes, after its guard
        text = first_step_in_description(lowered.text, scripts[0])
        lowered = lowered.model_copy(update={"text": text})
    return Lowering(
        skill=lowered,
        violations=violations,
        reason=f"lowered to {names} (the target has gaps the scripts stand in for)",
        synthesis=synthesis,
    )


def _bind_env(context: PassContext, inputs: dict[str, Any]) -> EnvBinding:
    return bind_environment(inputs["skill.code"])


def _parallelism(context: PassContext, inputs: dict[str, Any]) -> Workflow | None:
    return extract_workflow(inputs["skill.procedures"])


def _emit(context: PassContext, inputs: dict[str, Any]) -> VariantText:
    skill: Skill = inputs["skill"]
    rewrite: RewriteOutput | None = inputs.get("rewrite")
    workflow: Workflow | None = inputs.get("parallelism")
    lowering: Lowering | None = inputs.get("lower")
    if lowering is not None and lowering.skill is not None:
        lowered = lowering.skill
        return VariantText(
            text=lowered.text,
            source_map=lowered.source_map,
            guard_violations=lowering.violations,
            gaps_compensated=[g.label for g in inputs.get("gaps") or [] if g.gap_type != "unknown"],
            files=lowered.files,
            lowered=True,
            replaced=lowered.replaced,
        )
    if rewrite is not None and rewrite.text is not None:
        return _emit_llm(skill, rewrite)
    if lowering is not None and wants_lowering(inputs.get("gaps") or []):
        # A weak target without an executable path: notes would only lengthen its prompt.
        return VariantText(text=skill.source, source_map=[])
    insertions = [
        Insertion(after_line=n.after_line, lines=n.lines, gap=n.gap, rule=n.rule)
        for n in (rewrite.notes if rewrite else [])
    ]
    tcp: TCP | None = inputs.get("tcp")
    batches = tcp is not None and (tcp.level_number("tool.call.batch") or 0) >= 2
    # Concurrency advice only for a target that can issue calls together; to one that
    # cannot, it would contradict the rest of its prompt.
    if workflow is not None and batches:
        for anchor, lines, group in concurrency_notes(workflow):
            concurrency_gap = Gap(
                purposeId="workflow", primitiveId="tool.call.batch", requiredLevel="L2", modelLevel=None, gapType="unknown", severity=0,
                evidence=f"{group.kind}: steps {', '.join(group.steps)}", lines=workflow.lines,
            )  # fmt: skip
            insertions.append(
                Insertion(
                    after_line=anchor,
                    lines=lines,
                    gap=concurrency_gap,
                    rule=f"concurrency:{group.kind}",
                )
            )
    result = apply_insertions(skill, sorted(insertions, key=lambda i: i.after_line), pass_id="emit")
    for entry, insertion in zip(
        result.source_map, sorted(insertions, key=lambda i: i.after_line), strict=True
    ):
        if insertion.rule.startswith("concurrency"):
            entry.gap = insertion.gap.evidence
            entry.pass_id = "parallelism"
        else:
            entry.pass_id = "rewrite"
    return VariantText(
        text=result.text,
        source_map=result.source_map,
        guard_violations=guard(skill, result.text),
        gaps_compensated=[n.gap.label for n in (rewrite.notes if rewrite else []) if n.gap],
    )


def _emit_llm(skill: Skill, rewrite: RewriteOutput) -> VariantText:
    from skvm_core.textdiff import opcodes

    source, variant = skill.source.splitlines(), rewrite.text.splitlines()
    entries = []
    for tag, i1, i2, j1, j2 in opcodes(source, variant):
        if tag == "equal" or j1 == j2:
            continue
        nearest = i1 if i1 < len(source) else len(source)
        gap = next(
            (
                n.gap
                for n in rewrite.notes
                if n.gap and n.gap.lines and n.gap.lines[0] <= nearest + 1 <= n.gap.lines[1] + 3
            ),
            None,
        )
        entries.append(
            SourceMapEntry(
                variantLines=(j1 + 1, j2),
                sourceLines=(i1 + 1, max(i1 + 1, i2)) if i2 > i1 else (max(1, i1), max(1, i1)),
                primitiveId=gap.primitive_id if gap else None,
                gap=gap.label if gap else "rewritten by the compiler model",
                rule=rewrite.mode,
                **{"pass": "rewrite"},
            )
        )
    return VariantText(
        text=rewrite.text,
        source_map=entries,
        guard_violations=guard(skill, rewrite.text),
        gaps_compensated=[n.gap.label for n in rewrite.notes if n.gap],
    )


PASSES = [
    Pass(
        "analyze",
        ("skill", "options"),
        SCR,
        _analyze,
        version="1",
        description="static skill analysis → SCR (optionally refined by an LLM)",
    ),
    Pass(
        "gaps",
        ("analyze", "tcp"),
        list[Gap],
        _gaps,
        description="compare the SCR with the target profile",
    ),
    Pass(
        "rewrite",
        ("skill", "analyze", "gaps", "options"),
        RewriteOutput,
        _rewrite,
        version="3",  # model-addressed notes only; the templates are not an input, so bump on edits
        description="compensation notes at the lines that carry each gap",
    ),
    Pass(
        "executable",
        ("skill",),
        list[ScriptHelp],
        _executable,
        description="bundled scripts: interface from --help, example runs on synthesised input",
    ),
    Pass(
        "lower",
        ("skill", "gaps", "executable", "tcp", "options"),
        Lowering,
        _lower,
        # The text templates and the compiler model's prompt are not inputs: bump on edits.
        version="3",
        description="for a weak target: concrete verified commands instead of instructions",
    ),
    Pass(
        "bind_env",
        ("skill.code",),
        EnvBinding,
        _bind_env,
        description="dependencies and an idempotent env-setup.sh",
    ),
    Pass(
        "parallelism",
        ("skill.procedures",),
        Workflow | None,
        _parallelism,
        description="workflow DAG and parallel groups",
    ),
    Pass(
        "emit",
        ("skill", "gaps", "tcp", "lower", "rewrite", "parallelism"),
        VariantText,
        _emit,
        description="assemble the variant text, source map and guard check",
    ),
]


def code_view_digest(skill: Skill) -> str:
    payload = [(b.language, b.code) for b in skill.ir.code_blocks] + [
        (f.path, f.sha256) for f in skill.files
    ]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def procedures_view_digest(skill: Skill) -> str:
    payload = [[(i.text, i.span.start, i.span.end) for i in p.items] for p in skill.ir.procedures]
    payload.append(
        [
            PARALLEL_WORDS.search(skill.body) is not None,
            [(s.title, s.span.start) for s in skill.ir.sections],
        ]
    )
    lines = skill.source.splitlines()
    payload.append(
        [lines[i.span.start - 1 : i.span.end] for p in skill.ir.procedures for i in p.items]
    )
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


@dataclass
class CompileResult:
    skill: Skill
    tcp: TCP
    artifacts: dict[str, Any]
    records: list[PassRecord]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[PassRecord]:
        return [r for r in self.records if r.error]

    @property
    def variant(self) -> VariantText | None:
        return self.artifacts.get("emit")

    @property
    def gaps(self) -> list[Gap]:
        return self.artifacts.get("gaps") or []

    @property
    def prompt_tokens(self) -> tuple[int, int]:
        """Estimated tokens of the skill text a model reads by default: (original, variant)."""
        from skvm_core.agent.history import reading_tokens
        from skvm_core.errors import SkvmError
        from skvm_core.skill.frontmatter import split_front_matter

        variant = self.variant.text if self.variant else self.skill.source
        try:
            variant_body = split_front_matter(variant).body
        except SkvmError:  # the guard reports a broken front matter; count the whole text
            variant_body = variant
        return reading_tokens(self.skill.body), reading_tokens(variant_body)

    @property
    def protocol(self) -> ProtocolDecision:
        """How the target acts when it runs this variant (the `auto` rule on its profile)."""
        return choose_protocol(self.tcp.model, dict(self.tcp.capabilities))

    @property
    def tools(self) -> ToolSelection:
        """The tools a run of this variant offers (task prompts may add the web tool)."""
        source = self.variant.text if self.variant else self.skill.source
        return select_tools(source, "")


def first_step_in_description(text: str, script: ScriptHelp) -> str:
    """An external harness shows only a skill's description until the model loads the body,
    and a weak model often never does: the description then carries the first concrete step,
    a command that was verified."""
    from skvm_core.skill.frontmatter import parse_front_matter, split_front_matter, with_description

    examples = script.verified_examples()
    if not examples:
        return text
    current, _ = parse_front_matter(split_front_matter(text).front_matter)
    step = f" Its verified command: `{examples[0].text}`, with the task's own files and values in place of the example's."
    if (
        step.strip() in (current.description or "")
        or len(current.description or "") + len(step) > 1024
    ):
        return text  # the Agent Skills limit for a description is 1024 characters
    return with_description(text, (current.description or "").rstrip() + step)


def compile_skill(
    skill: Skill,
    tcp: TCP,
    *,
    passes: list[str] | None = None,
    compiler_model: str | None = None,
    synthesis_model: str | None = None,
    cache_dir: Path | None = None,
    harness: str = "bare",
) -> CompileResult:
    """`compiler_model` refines the analysis, rewrites and synthesises; `synthesis_model`
    (when no compiler model is named) only synthesises the scripts a weak target needs;
    `harness` is where the variant will run (its tool names, its always-shown description)."""
    options = {"compiler_model": compiler_model}
    if synthesis_model and not compiler_model:
        options["synthesis_model"] = synthesis_model  # absent otherwise: static keys unchanged
    if harness != "bare":
        options["harness"] = harness  # likewise
    context = PassContext(
        views={
            "skill": skill,
            "skill.code": skill,
            "skill.procedures": skill,
            "tcp": tcp,
            "options": options,
        },
        digests={
            "skill": skill.content_hash,
            "skill.code": code_view_digest(skill),
            "skill.procedures": procedures_view_digest(skill),
            "tcp": tcp.version_key,
        },
        verifier=Verifier(cache_dir / "verify" if cache_dir else None),
        cache_dir=cache_dir,
    )
    manager = PassManager(PASSES, cache_dir)
    artifacts, records = manager.run(context, _selected_with_optional(manager, passes))
    return CompileResult(
        skill=skill, tcp=tcp, artifacts=artifacts, records=records, options=options
    )


def _selected_with_optional(manager: PassManager, selected: list[str] | None) -> list[str] | None:
    """`emit` reads rewrite and parallelism only when they were chosen."""
    if not selected:
        return None
    chosen = set(manager.resolve([s for s in selected if s != "emit"]))
    chosen.add("emit")
    emit = manager.passes["emit"]
    manager.passes["emit"] = Pass(
        emit.id,
        tuple(i for i in emit.inputs if i == "skill" or i in chosen),
        emit.output,
        emit.run,
        emit.version,
        emit.description,
    )
    return [p for p in manager.order if p in chosen]
