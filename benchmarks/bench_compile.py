"""Recompiling a 500-line skill after a one-line edit, all passes, warm cache.

Side by side: a cold compile (empty cache) and a recompile after editing one prose line
(cache warm for every input the edit did not touch). Loading the skill is included.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._util import report
from skvm_core.compile import compile_skill
from skvm_core.profile.tcp import TCP
from skvm_core.skill import load_skill

TCP_WEAK = TCP(
    model="bench/weak",
    profiledAt="2026-01-01T00:00:00Z",
    capabilities={
        "gen.code.python": "L1",
        "gen.code.shell": "L1",
        "reason.arithmetic": "L1",
        "follow.procedure": "L1",
        "tool.exec": "L1",
        "follow.format": "L1",
    },
)


def big_skill(folder: Path) -> Path:
    parts = [
        "---",
        "name: big-skill",
        "description: A long skill for measuring the compiler.",
        "---",
        "",
        "# Big skill",
        "",
    ]
    section = 0
    while len(parts) < 490:
        section += 1
        parts += [
            f"## Part {section}",
            "",
            f"Read data{section}.csv and write report{section}.json; compute the average and the total.",
            "",
        ]
        parts += [
            "1. Look at the file.",
            "2. Write a script.",
            "3. Run it and check the output.",
            "",
        ]
        parts += [
            "```python",
            "import csv, json",
            f"rows = list(csv.DictReader(open('data{section}.csv')))",
            "print(len(rows))",
            "```",
            "",
        ]
        parts += [
            "```bash",
            f"grep -c x data{section}.csv | awk '{{print $1}}' > count{section}.txt",
            "```",
            "",
        ]
        parts += [f"Plain prose line {section} that demands nothing in particular.", ""]
    skill = folder / "big-skill"
    skill.mkdir()
    (skill / "SKILL.md").write_text("\n".join(parts[:500]) + "\n")
    return skill


def run(repeats: int = 15) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = big_skill(Path(tmp))
        text = (folder / "SKILL.md").read_text()
        cold, warm = [], []
        for index in range(repeats):
            started = time.perf_counter()
            compile_skill(load_skill(folder), TCP_WEAK, cache_dir=Path(tmp) / f"cold{index}")
            cold.append(time.perf_counter() - started)
        cache = Path(tmp) / "warm"
        compile_skill(load_skill(folder), TCP_WEAK, cache_dir=cache)
        for index in range(repeats):
            (folder / "SKILL.md").write_text(
                text.replace("Plain prose line 3 that", f"Plain prose line 3 (edit {index}) that")
            )
            started = time.perf_counter()
            result = compile_skill(load_skill(folder), TCP_WEAK, cache_dir=cache)
            warm.append(time.perf_counter() - started)
            assert not result.errors
        lines = len(text.splitlines())
    median_warm, median_cold = statistics.median(warm) * 1000, statistics.median(cold) * 1000
    return [
        report(
            f"compile: {lines}-line skill, one-line edit",
            f"{median_warm:.0f} ms median",
            "<= 50 ms",
            median_warm <= 50,
        ),
        report(
            "compile: cold compile, same skill",
            f"{median_cold:.0f} ms ({median_cold / median_warm:.1f}x the warm recompile)",
            "",
            None,
        ),
    ]
