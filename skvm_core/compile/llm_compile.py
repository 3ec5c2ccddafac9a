"""Optional LLM passes: refine the analysis and rewrite the skill, held to the same guard.

The model's analysis is validated against the catalog before it is merged; its rewrite must
pass the guard, gets one retry with the violations listed, and is otherwise dropped in
favour of the deterministic rewrite.
"""

from __future__ import annotations

import json
import re

from skvm_core.catalog import load_catalog
from skvm_core.compile.manager import PassContext
from skvm_core.compile.model import SCR, Gap, Requirement
from skvm_core.compile.rewrite import guard, guidance_for
from skvm_core.compile.verify import run_sync
from skvm_core.llm import complete
from skvm_core.llm.client import CallOptions
from skvm_core.skill import Skill

OPTIONS = CallOptions(temperature=0.0, max_tokens=4096, timeout_s=300)


def _ask(model: str, prompt: str, context: PassContext) -> str:
    response = run_sync(complete(model, [{"role": "user", "content": prompt}], options=OPTIONS))
    context.usage = context.usage + response.usage
    return response.text


def llm_analyze(skill: Skill, scr: SCR, model: str, context: PassContext) -> SCR:
    catalog = load_catalog()
    numbered = "\n".join(f"{n:4d}| {line}" for n, line in enumerate(skill.source.splitlines(), 1))
    prompt = (
        "You analyse agent skills. List the primitive capabilities this skill demands from the model that runs it.\n"
        f"Primitive ids: {', '.join(catalog.ids())}. Levels: L1 (basic), L2 (intermediate), L3 (advanced).\n"
        'Answer with JSON only: {"requirements": [{"primitive": id, "minLevel": "L1"|"L2"|"L3", "line": number, "evidence": short text}]}\n\n'
        f"SKILL.md with line numbers:\n{numbered}"
    )
    text = _ask(model, prompt, context)
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        items = json.loads(match.group(0))["requirements"] if match else []
    except (json.JSONDecodeError, KeyError, TypeError):
        items = []
    merged = scr.model_copy(deep=True)
    added = 0
    for item in items if isinstance(items, list) else []:
        if (
            not isinstance(item, dict)
            or item.get("primitive") not in catalog
            or item.get("minLevel") not in ("L1", "L2", "L3")
        ):
            continue  # invalid ids and levels are dropped, never trusted
        line = item.get("line") if isinstance(item.get("line"), int) else None
        purpose = next(
            (p for p in merged.purposes if p.lines and line and p.lines[0] <= line <= p.lines[1]),
            merged.purposes[0],
        )
        if any(r.id == item["primitive"] for r in purpose.current_path.primitives):
            continue
        purpose.current_path.primitives.append(
            Requirement(
                id=item["primitive"],
                minLevel=item["minLevel"],
                evidence=f"(model) {str(item.get('evidence', ''))[:120]}",
                lines=(line, line) if line else None,
            )
        )
        added += 1
    merged.analyzer = f"static+llm:{model} ({added} added)"
    return merged


def llm_rewrite(
    skill: Skill, gaps: list[Gap], model: str, context: PassContext
) -> tuple[str | None, list[str]]:
    advice = "\n".join(
        f"- {g.label} (lines {g.lines}): {guidance_for(g)[0]}"
        for g in gaps
        if g.gap_type != "unknown"
    )
    base = (
        "Rewrite this agent skill so a weaker model can follow it. Keep the YAML front matter exactly, keep every heading and every "
        "code block unchanged, remove nothing the task needs; add explicit steps, examples and checks where the gaps below are.\n"
        f"Gaps of the target model:\n{advice}\n\nReturn the complete new SKILL.md inside one ```markdown fence.\n\n"
        f"```markdown\n{skill.source}\n```"
    )
    violations: list[str] = []
    prompt = base
    for _attempt in range(2):
        text = _extract(_ask(model, prompt, context))
        violations = guard(skill, text) if text else ["no markdown answer"]
        if not violations:
            return text, []
        prompt = (
            base
            + "\n\nYour previous answer broke these rules; fix them:\n"
            + "\n".join(f"- {v}" for v in violations)
        )
    return None, violations


def _extract(answer: str) -> str | None:
    match = re.search(r"```(?:markdown|md)\s*\n(.*)\n```", answer, re.DOTALL)
    text = match.group(1) if match else answer.strip()
    if not text.startswith("---"):
        return None
    return text if text.endswith("\n") else text + "\n"
