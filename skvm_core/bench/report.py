"""Bench reports: per target × condition pass rate, mean score with a 95% interval, pass@k,
tokens, cost and time; paired deltas between conditions. Tainted runs are listed, never
averaged."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from math import comb

from pydantic import BaseModel, Field

from skvm_core.bench.orchestrator import RunRecord

# Two-sided 95% Student t critical values by degrees of freedom (normal beyond 30).
_T95 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    15: 2.131,
    20: 2.086,
    25: 2.060,
    30: 2.042,
}


def t95(df: int) -> float:
    if df <= 0:
        return float("nan")
    if df in _T95:
        return _T95[df]
    below = max(k for k in _T95 if k <= df) if df < 30 else None
    return _T95[below] if below else 1.96


def mean_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t-interval (clamped to [0, 1])."""
    if not values:
        return float("nan"), float("nan"), float("nan")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0, 1.0
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task with n runs of which c passed."""
    if n < k:
        return float("nan")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


class Cell(BaseModel):
    target: str
    condition: str
    runs: int
    graded: int
    tainted: list[str] = Field(default_factory=list)
    pass_rate: float
    mean_score: float
    score_low: float
    score_high: float
    pass_at_k: dict[str, float] = Field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = 0.0
    wall_s: float = 0.0
    model_s: float = 0.0
    protocols: list[str] = Field(default_factory=list)
    # Share of graded runs that ended with an answer and wrote no file.
    prose_end_rate: float = float("nan")
    # Share of graded runs whose model got the skill's body (nan: not recorded).
    loaded_rate: float = float("nan")
    # Replies that were neither an action nor an answer, plus unreadable call arguments.
    parse_failures: int = 0
    # Tokens of the protocol's instructions and worked example in each request's prompt.
    example_tokens: float | None = None  # None where runs did not record it
    # Under solidification: graded runs a template did without the model, and runs where a
    # promoted template failed and the model did the task.
    by_template: int = 0
    fell_back: int = 0
    # Over tasks built from the skill's contract, never pooled with hand-written ones.
    synthetic: bool = False


class Delta(BaseModel):
    target: str
    base: str
    other: str
    tasks: int
    mean_delta: float
    low: float
    high: float
    wins: int
    losses: int
    ties: int
    token_ratio: float | None = None
    # The same comparison on pass rate (per task: share of runs passed).
    pass_delta: float = float("nan")
    pass_low: float = float("nan")
    pass_high: float = float("nan")
    synthetic: bool = False


class TaskRow(BaseModel):
    """One task on one target: per condition the mean score and passes over graded runs."""

    target: str
    task_id: str
    scores: dict[str, float] = Field(default_factory=dict)
    passes: dict[str, str] = Field(default_factory=dict)  # condition → "passed/graded"
    synthetic: bool = False


class WarmupRow(BaseModel):
    """A runtime condition's warm-up runs on one target: what the runtime learned there."""

    target: str
    condition: str
    runs: int
    passed: int
    by_template: int  # runs a template did without the model
    shadow_passes: int
    shadow_failures: int


class BenchReport(BaseModel):
    session: str
    cells: list[Cell]
    deltas: list[Delta]
    tasks: list[TaskRow] = Field(default_factory=list)
    warmup: list[WarmupRow] = Field(default_factory=list)


_CONDITION_ORDER = {"no-skill": 0, "original": 1, "compiled": 2, "solidified": 3}


def _order(target: str, condition: str, synthetic: bool = False) -> tuple:
    """Targets alphabetically, hand-written tasks before synthetic ones; conditions in
    reading order (baseline first), others after."""
    return (target, synthetic, _CONDITION_ORDER.get(condition, len(_CONDITION_ORDER)), condition)


def build_report(session: str, records: list[RunRecord]) -> BenchReport:
    warmups = [r for r in records if r.warmup]
    records = [r for r in records if not r.warmup]
    groups: dict[tuple[str, str, bool], list[RunRecord]] = defaultdict(list)
    for record in records:
        groups[(record.target, record.condition, record.synthetic)].append(record)
    cells = []
    for (target, condition, synthetic), items in sorted(
        groups.items(), key=lambda kv: _order(*kv[0])
    ):
        graded = [r for r in items if not r.tainted and not r.skipped]
        mean, low, high = mean_interval([r.score for r in graded])
        per_task: dict[str, list[RunRecord]] = defaultdict(list)
        for r in graded:
            per_task[r.task_id].append(r)
        runs_per_task = min((len(v) for v in per_task.values()), default=0)
        at_k = {}
        for k in sorted({1, runs_per_task} - {0}):
            values = [pass_at_k(len(v), sum(r.passed for r in v), k) for v in per_task.values()]
            at_k[f"pass@{k}"] = statistics.fmean(values) if values else float("nan")
        costs = [r.cost_usd for r in graded]
        cells.append(
            Cell(
                target=target,
                condition=condition,
                runs=len(items),
                graded=len(graded),
                tainted=[
                    f"{r.task_id}#{r.run} {r.status}{': ' + r.error if r.error else ''}"
                    for r in items
                    if r.tainted
                ],
                pass_rate=statistics.fmean([r.passed for r in graded]) if graded else float("nan"),
                mean_score=mean,
                score_low=low,
                score_high=high,
                pass_at_k=at_k,
                tokens_in=sum(r.usage.input for r in graded),
                tokens_out=sum(r.usage.output for r in graded),
                cost_usd=None if any(c is None for c in costs) else sum(costs),
                wall_s=sum(r.wall_ms for r in graded) / 1000,
                model_s=sum(r.model_ms for r in graded) / 1000,
                protocols=sorted({r.protocol for r in items if r.protocol}),
                prose_end_rate=statistics.fmean([r.prose_end for r in graded])
                if graded
                else float("nan"),
                loaded_rate=_loaded_rate(graded),
                parse_failures=sum(r.parse_failures for r in graded),
                # An external harness writes its own prompt: we add no example to it.
                example_tokens=statistics.fmean([r.example_tokens for r in graded])
                if graded
                and all(r.example_tokens is not None and r.harness == "bare" for r in graded)
                else None,
                by_template=sum(r.solidified == "template" for r in graded),
                fell_back=sum(r.solidified == "fell back" for r in graded),
                synthetic=synthetic,
            )
        )
    deltas = []
    conditions = sorted({r.condition for r in records})
    # A condition run under another protocol (`original@native`) is compared with the same
    # condition under the plan's protocol.
    pairs = [("no-skill", "original"), ("original", "compiled"), ("original", "solidified")]
    pairs += [("original", c) for c in conditions if c.startswith("compiled:") and "@" not in c]
    pairs += [(c.rsplit("@", 1)[0], c) for c in conditions if "@" in c]
    for target, synthetic in sorted({(r.target, r.synthetic) for r in records}):
        kind = [r for r in records if r.synthetic == synthetic]
        for base, other in pairs:
            delta = paired_delta(kind, target, base, other)
            if delta:
                deltas.append(delta.model_copy(update={"synthetic": synthetic}))
    return BenchReport(
        session=session,
        cells=cells,
        deltas=deltas,
        tasks=task_rows(records),
        warmup=warmup_rows(warmups),
    )


def warmup_rows(records: list[RunRecord]) -> list[WarmupRow]:
    groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        groups[(record.target, record.condition)].append(record)
    return [
        WarmupRow(
            target=target,
            condition=condition,
            runs=len(items),
            passed=sum(r.passed for r in items),
            by_template=sum(r.solidified == "template" for r in items),
            shadow_passes=sum(r.shadow == "pass" for r in items),
            shadow_failures=sum(r.shadow == "fail" for r in items),
        )
        for (target, condition), items in sorted(groups.items())
    ]


def task_rows(records: list[RunRecord]) -> list[TaskRow]:
    graded: dict[tuple[str, str], dict[str, list[RunRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    synthetic = {r.task_id for r in records if r.synthetic}
    for r in records:
        runs = graded[(r.target, r.task_id)][r.condition]  # listed even when every run is tainted
        if not r.tainted and not r.skipped:
            runs.append(r)
    rows = []
    for (target, task_id), by_condition in sorted(graded.items()):
        rows.append(
            TaskRow(
                target=target,
                task_id=task_id,
                synthetic=task_id in synthetic,
                scores={
                    c: statistics.fmean(r.score for r in runs) if runs else float("nan")
                    for c, runs in by_condition.items()
                },
                passes={
                    c: f"{sum(r.passed for r in runs)}/{len(runs)}"
                    for c, runs in by_condition.items()
                },
            )
        )
    return rows


def paired_delta(records: list[RunRecord], target: str, base: str, other: str) -> Delta | None:
    """Per task: mean score under `other` minus under `base`, over tasks graded in both."""

    def per_task(condition: str) -> dict[str, list[RunRecord]]:
        found: dict[str, list[RunRecord]] = defaultdict(list)
        for r in records:
            if r.target == target and r.condition == condition and not r.tainted and not r.skipped:
                found[r.task_id].append(r)
        return found

    a, b = per_task(base), per_task(other)
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    diffs = [
        statistics.fmean(r.score for r in b[t]) - statistics.fmean(r.score for r in a[t])
        for t in shared
    ]
    mean, half = _mean_half(diffs)
    pass_diffs = [
        statistics.fmean(r.passed for r in b[t]) - statistics.fmean(r.passed for r in a[t])
        for t in shared
    ]
    pass_mean, pass_half = _mean_half(pass_diffs)
    tokens_a = sum(r.usage.total for t in shared for r in a[t]) / max(
        1, sum(len(a[t]) for t in shared)
    )
    tokens_b = sum(r.usage.total for t in shared for r in b[t]) / max(
        1, sum(len(b[t]) for t in shared)
    )
    return Delta(
        target=target, base=base, other=other, tasks=len(shared), mean_delta=mean,
        low=max(-1.0, mean - half), high=min(1.0, mean + half),  # scores lie in [0, 1]
        wins=sum(d > 1e-9 for d in diffs), losses=sum(d < -1e-9 for d in diffs), ties=sum(abs(d) <= 1e-9 for d in diffs),
        token_ratio=tokens_b / tokens_a if tokens_a else None,
        pass_delta=pass_mean, pass_low=max(-1.0, pass_mean - pass_half), pass_high=min(1.0, pass_mean + pass_half),
    )  # fmt: skip


def _mean_half(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t interval (nan with one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan")
    return mean, t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


def _fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else pattern.format(value)
    )


def _kind(label: str, synthetic: bool) -> str:
    return f"{label} · synthetic tasks" if synthetic else label


def _loaded_rate(graded: list) -> float:
    known = [r.skill_loaded for r in graded if r.skill_loaded is not None]
    return statistics.fmean(known) if known else float("nan")


def to_markdown(report: BenchReport) -> str:
    lines = [f"# Bench {report.session}", ""]
    if any(c.synthetic for c in report.cells):
        lines += [
            "Rows marked *synthetic tasks* are over tasks built from the skill's contract "
            "(`skvm task synthesise`), not written by a person; they are counted apart.",
            "",
        ]
    # The loaded-the-skill column only where runs recorded it, so older reports rebuild as
    # they were.
    loaded = any(not math.isnan(c.loaded_rate) for c in report.cells)
    lines += [
        "| target | condition | protocol | runs | graded | pass rate | mean score (95% CI) | pass@k | "
        + ("loaded skill | " if loaded else "")
        + "prose end | parse failures | example tokens | tokens in/out | cost | wall s | model s | tainted |",
        "|---|---|---|---|---|---|---|---|"
        + ("---|" if loaded else "")
        + "---|---|---|---|---|---|---|---|",
    ]
    for c in report.cells:
        at_k = ", ".join(f"{k} {_fmt(v)}" for k, v in c.pass_at_k.items())
        lines.append(
            f"| {c.target} | {_kind(c.condition, c.synthetic)} | {', '.join(c.protocols) or 'n/a'} | {c.runs} | {c.graded} | {_fmt(c.pass_rate)} | {_fmt(c.mean_score)} ({_fmt(c.score_low)}–{_fmt(c.score_high)}) | {at_k} | "
            + (f"{_fmt(c.loaded_rate)} | " if loaded else "")
            + f"{_fmt(c.prose_end_rate)} | {c.parse_failures} | {_fmt(c.example_tokens, '{:.0f}')} | {c.tokens_in:,}/{c.tokens_out:,} | {_fmt(c.cost_usd, '${:.4f}')} | {c.wall_s:.0f} | {c.model_s:.0f} | {len(c.tainted)} |"
        )
    if report.deltas:
        lines += [
            "",
            "## Paired deltas (per task, then averaged over tasks)",
            "",
            "| target | comparison | tasks | Δ pass rate (95% CI) | Δ mean score (95% CI) | wins/losses/ties | token ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for d in report.deltas:
            lines.append(
                f"| {d.target} | {_kind(f'{d.other} − {d.base}', d.synthetic)} | {d.tasks} | {_fmt(d.pass_delta, '{:+.3f}')} ({_fmt(d.pass_low, '{:+.3f}')} to {_fmt(d.pass_high, '{:+.3f}')}) | {d.mean_delta:+.3f} ({_fmt(d.low, '{:+.3f}')} to {_fmt(d.high, '{:+.3f}')}) | {d.wins}/{d.losses}/{d.ties} | {_fmt(d.token_ratio)} |"
            )
    if report.warmup:
        lines += [
            "",
            "## Warm-up runs (reported apart, not in the figures above)",
            "",
            "| target | condition | runs | passed | done by a template | shadow trials passed/failed |",
            "|---|---|---|---|---|---|",
        ]
        for w in report.warmup:
            lines.append(
                f"| {w.target} | {w.condition} | {w.runs} | {w.passed} | {w.by_template} | {w.shadow_passes}/{w.shadow_failures} |"
            )
    solidified = [c for c in report.cells if c.by_template or c.fell_back]
    if solidified:
        lines += ["", "## Solidified runs", ""] + [
            f"- {c.target} · {c.condition}: {c.by_template} of {c.graded} graded runs done by a template, {c.fell_back} fell back to the model"
            for c in solidified
        ]
    lines += _task_tables(report)
    tainted = [(c.target, c.condition, t) for c in report.cells for t in c.tainted]
    if tainted:
        lines += ["", "## Tainted runs (excluded from averages)", ""] + [
            f"- {t} · {c}: {item}" for t, c, item in tainted
        ]
    return "\n".join(lines) + "\n"


def _task_tables(report: BenchReport) -> list[str]:
    """Per target, tasks × conditions: mean score and passed/graded runs."""
    lines: list[str] = []
    for target in sorted({row.target for row in report.tasks}):
        rows = [row for row in report.tasks if row.target == target]
        conditions = [c.condition for c in report.cells if c.target == target]
        lines += [
            "",
            f"## Per task · {target} (mean score, passed/graded runs)",
            "",
            "| task | " + " | ".join(conditions) + " |",
            "|---|" + "---|" * len(conditions),
        ]
        for row in rows:
            cells = [
                f"{_fmt(row.scores.get(c))} ({row.passes.get(c, '0/0')})"
                if c in row.scores
                else "—"
                for c in conditions
            ]
            lines.append(f"| {_kind(row.task_id, row.synthetic)} | " + " | ".join(cells) + " |")
    return lines


def to_json(report: BenchReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, allow_nan=True) + "\n"
