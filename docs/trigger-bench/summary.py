"""Merge the per-skill trigger reports under a results folder into one report (JSON and
markdown beside this script): a row per skill × target × harness, and the runs pooled per
target × harness with their 95% intervals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from skvm_core.bench.trigger_report import TriggerReport, rate
from skvm_core.store.atomic import atomic_write_text


def _pct(r) -> str:
    if r.rate is None:
        return "—"
    return f"{r.rate:.0%} ({r.hits}/{r.runs}; {r.low:.0%}–{r.high:.0%})"


def main(results: Path) -> None:
    reports = []
    for path in sorted(results.glob("*/*/report.json")):
        try:
            reports.append(TriggerReport.model_validate_json(path.read_text("utf-8")))
        except ValueError:
            continue
    if not reports:
        print(f"no reports under {results} yet")
        return
    rows = [(r, c) for r in reports for c in r.cells]
    pooled: dict[tuple[str, str], list[int]] = {}
    for _, c in rows:
        hits = pooled.setdefault((c.target, c.harness), [0, 0, 0, 0, 0])
        hits[0] += c.load.hits
        hits[1] += c.load.runs
        hits[2] += c.false_load.hits
        hits[3] += c.false_load.runs
        hits[4] += c.tainted
    lines = [
        "# Trigger bench",
        "",
        "Each skill offered in discover mode; should-trigger prompts from its own tasks and",
        "description, should-not-trigger from other skills' tasks (see each skill's report.md).",
        "",
        "## Pooled over skills (95% Wilson intervals)",
        "",
        "| target | harness | skills | load rate | false loads | tainted |",
        "|---|---|---|---|---|---|",
    ]
    summary = []
    for (target, harness), (lh, ln, fh, fn, tainted) in sorted(pooled.items()):
        skills = sum(1 for _, c in rows if (c.target, c.harness) == (target, harness))
        load, false = rate(lh, ln), rate(fh, fn)
        lines.append(
            f"| {target} | {harness} | {skills} | {_pct(load)} | {_pct(false)} | {tainted} |"
        )
        summary.append(
            {"target": target, "harness": harness, "skills": skills, "load": load.model_dump(),
             "false_load": false.model_dump(), "tainted": tainted}
        )  # fmt: skip
    lines += ["", "## Per skill", "", "| skill | target | harness | prompts | load rate | false loads | tainted |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for report, c in rows:
        lines.append(
            f"| {report.skill} | {c.target} | {c.harness} | {report.origin} | {_pct(c.load)} | "
            f"{_pct(c.false_load)} | {c.tainted} |"
        )
    here = Path(__file__).resolve().parent
    atomic_write_text(here / "report.md", "\n".join(lines) + "\n")
    atomic_write_text(here / "report.json", json.dumps({"pooled": summary}, indent=2) + "\n")
    print(f"wrote {here / 'report.md'} ({len(rows)} skill × harness rows)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results"))
