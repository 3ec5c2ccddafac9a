"""The trigger eval's report: per target × harness, the load rate on should-trigger prompts
and the false-load rate on should-not-trigger ones, each with a 95% Wilson interval
(the one the profiles use for pass rates), and every prompt with its source."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from skvm_core.bench.trigger_prompts import PromptSet, TriggerPrompt
from skvm_core.bench.triggers import TriggerRecord
from skvm_core.store.atomic import atomic_write_text


class Rate(BaseModel):
    hits: int
    runs: int  # untainted runs
    rate: float | None = None  # None where nothing was measured
    low: float | None = None
    high: float | None = None


def rate(hits: int, runs: int) -> Rate:
    from skvm_core.profile.tcp import LevelResult

    if runs == 0:
        return Rate(hits=0, runs=0)
    low, high = LevelResult(level="L1", passed=True, passCount=hits, totalCount=runs).interval()
    return Rate(hits=hits, runs=runs, rate=hits / runs, low=low, high=high)


class TriggerCell(BaseModel):
    target: str
    harness: str
    load: Rate  # should-trigger prompts on which the skill was loaded
    false_load: Rate  # should-not-trigger prompts on which it was loaded all the same
    score: float | None = None  # load rate − false-load rate
    tainted: int = 0  # runs left out: timed out, crashed or failed to start
    attempts_not_loaded: int = 0  # the model asked for a skill and its body did not arrive
    tokens_per_run: float = 0.0
    wall_s_per_run: float = 0.0


class PromptRow(BaseModel):
    prompt: TriggerPrompt
    loads: dict[str, str] = Field(default_factory=dict)  # "target · harness" → "k/n"


class TriggerReport(BaseModel):
    skill: str
    skill_dir: str
    description: str
    key: str
    created: float
    origin: str  # authored | imported | synthesised
    prompts_path: str | None = None
    runs: int
    cells: list[TriggerCell]
    prompts: list[PromptRow]


def cell_of(target: str, harness: str, records: list[TriggerRecord]) -> TriggerCell:
    mine = [r for r in records if r.target == target and r.harness == harness]
    clean = [r for r in mine if not r.tainted]
    positive = [r for r in clean if r.should_trigger]
    negative = [r for r in clean if not r.should_trigger]
    load = rate(sum(r.loaded for r in positive), len(positive))
    false_load = rate(sum(r.loaded for r in negative), len(negative))
    score = None if load.rate is None or false_load.rate is None else load.rate - false_load.rate
    return TriggerCell(
        target=target,
        harness=harness,
        load=load,
        false_load=false_load,
        score=score,
        tainted=len(mine) - len(clean),
        attempts_not_loaded=sum(r.attempted and not r.loaded for r in clean),
        tokens_per_run=sum(r.tokens_in + r.tokens_out for r in mine) / len(mine) if mine else 0.0,
        wall_s_per_run=sum(r.wall_s for r in mine) / len(mine) if mine else 0.0,
    )


def build_report(
    skill, prompts: PromptSet, records: list[TriggerRecord], key: str, runs: int
) -> TriggerReport:
    pairs = list(dict.fromkeys((r.target, r.harness) for r in records))
    rows = []
    for prompt in prompts.prompts:
        loads = {}
        for target, harness in pairs:
            mine = [
                r for r in records
                if r.prompt_id == prompt.id and r.target == target and r.harness == harness and not r.tainted
            ]  # fmt: skip
            loads[f"{target} · {harness}"] = f"{sum(r.loaded for r in mine)}/{len(mine)}"
        rows.append(PromptRow(prompt=prompt, loads=loads))
    return TriggerReport(
        skill=skill.name,
        skill_dir=str(skill.root),
        description=skill.description,
        key=key,
        created=time.time(),
        origin=prompts.origin,
        prompts_path=prompts.path,
        runs=runs,
        cells=[cell_of(t, h, records) for t, h in pairs],
        prompts=rows,
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _rate(r: Rate) -> str:
    if r.rate is None:
        return "not measured"
    return f"{_pct(r.rate)} ({r.hits}/{r.runs}; {_pct(r.low)}–{_pct(r.high)})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: TriggerReport) -> str:
    where = f" from {report.prompts_path}" if report.prompts_path else ""
    lines = [
        f"# Trigger eval: {report.skill}",
        "",
        f"Description: {_cell(report.description)}",
        "",
        f"Prompts: {report.origin}{where}; {report.runs} run(s) each; the skill offered in "
        "discover mode (the model must load it). 95% Wilson intervals.",
        "",
        "| target | harness | load rate (should trigger) | false loads (should not) | load − false | tainted | asked, not loaded | tokens/run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in report.cells:
        score = "—" if c.score is None else f"{c.score:+.2f}"
        lines.append(
            f"| {c.target} | {c.harness} | {_rate(c.load)} | {_rate(c.false_load)} | {score} | "
            f"{c.tainted} | {c.attempts_not_loaded} | {c.tokens_per_run:,.0f} |"
        )
    lines += ["", "## Prompts", "", "| kind | source | prompt | loads |", "|---|---|---|---|"]
    for row in report.prompts:
        kind = "should" if row.prompt.should_trigger else "should not"
        loads = "; ".join(f"{k}: {v}" for k, v in row.loads.items()) or "—"
        text = row.prompt.text if len(row.prompt.text) <= 140 else row.prompt.text[:139] + "…"
        lines.append(f"| {kind} | {_cell(row.prompt.source)} | {_cell(text)} | {_cell(loads)} |")
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: TriggerReport) -> tuple[Path, Path]:
    json_path, md_path = out / "report.json", out / "report.md"
    atomic_write_text(json_path, report.model_dump_json(indent=2))
    atomic_write_text(md_path, render_markdown(report))
    return json_path, md_path
