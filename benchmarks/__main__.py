"""Run every benchmark (or the ones named) and print one table of results against targets.

`python -m benchmarks [name…] [--write]`. A benchmark that fails is a row that says why,
never a crash of the whole run. `--write` stores the table with its date and commit in
`docs/performance.md` and regenerates the README's performance section from it, so a
MISSES line is seen in review.
"""

from __future__ import annotations

import datetime
import importlib
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

from benchmarks._util import report

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "performance.md"
README = ROOT / "README.md"
START, END = "<!-- performance:start -->", "<!-- performance:end -->"

BENCHMARKS = [
    "bench_startup",
    "bench_toolparse",
    "bench_agent_loop",
    "bench_profile_concurrency",
    "bench_compile",
    "bench_workbench",
    "bench_scheduler",
    "bench_protocols",
    "bench_executors",
    "bench_solidify",
    "bench_harness_reuse",
]


def run_one(name: str) -> list[dict]:
    try:
        rows = importlib.import_module(f"benchmarks.{name}").run()
    except Exception as exc:  # one broken measurement must not hide the others
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        return [report(name, f"FAILED: {type(exc).__name__}: {exc} ({where})"[:200], "runs", False)]
    return rows if isinstance(rows, list) else [rows]


def verdict(ok: bool | None) -> str:
    return {True: "meets target", False: "MISSES target", None: ""}[ok]


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | measured | target | verdict |", "|---|---|---|---|"]
    for row in rows:
        cells = [row["benchmark"], row["value"], row["target"], verdict(row["ok"])]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return (done.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def write(rows: list[dict], seconds: float) -> None:
    from skvm_core.store.atomic import atomic_write_text

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    missing = sum(1 for r in rows if r["ok"] is False)
    body = (
        f"Measured {stamp} at commit {commit()} by `make bench` ({seconds / 60:.0f} min, "
        f"2 cores); {missing} row(s) miss their target.\n\n{table(rows)}\n"
    )
    atomic_write_text(REPORT, "# Performance\n\n" + body)
    readme = README.read_text("utf-8")
    if START in readme and END in readme:
        section = f"{START}\n{body}{END}"
        readme = re.sub(
            re.escape(START) + ".*?" + re.escape(END), lambda _m: section, readme, flags=re.S
        )
        atomic_write_text(README, readme)


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("--")]
    chosen = [b for b in BENCHMARKS if not names or b.removeprefix("bench_") in names or b in names]
    started = time.perf_counter()
    rows = [row for name in chosen for row in run_one(name)]
    print("\n" + table(rows))
    if "--write" in argv:
        write(rows, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
