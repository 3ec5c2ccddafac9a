"""A repeated job for solidification: group totals of a CSV file, many instances.

Each instance has its own file name, columns, groups, numbers and output file, so a
template only works if its parameters are found in each task; the grader checks every
total. `python -m benchmarks.csv_jobs OUT_DIR [COUNT] [--mixed] [--first=K]` writes the task
folders (from the K-th subject on).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

SKILL = Path(__file__).resolve().parent.parent / "sample_skills" / "csv-report"

# (file stem, what a row is, group column, value column, group names)
SUBJECTS = [
    ("orders", "orders", "store", "price", ["downtown", "harbour", "airport", "mall"]),
    ("expenses", "expenses", "team", "cost", ["design", "sales", "support", "ops", "legal"]),
    ("visits", "clinic visits", "clinic", "fee", ["central", "riverside", "hilltop"]),
    ("shipments", "shipments", "carrier", "weight", ["swiftco", "boxline", "parcelon", "airhop"]),
    ("donations", "donations", "campaign", "gift", ["spring", "summer", "autumn"]),
    ("rentals", "bike rentals", "station", "charge", ["park", "museum", "harbour", "campus"]),
    ("tickets", "ticket sales", "venue", "paid", ["arena", "theatre", "club"]),
    ("repairs", "repair jobs", "workshop", "labour", ["north", "south", "east", "west"]),
    ("grants", "grants", "fund", "award", ["arts", "science", "youth", "heritage"]),
    ("bills", "utility bills", "building", "total", ["alpha", "beta", "gamma"]),
]
PHRASINGS = [
    "{file} lists {rows} with their {group} and {value}. Write {out}: a JSON object mapping "
    "each {group} to the total {value}, rounded to 2 decimals.",
    "Add up the {value} column of {file} for every {group} and save the totals in {out} as a "
    "JSON object ({group} name to total, rounded to 2 decimals).",
    "In {file}, sum {value} per {group}. Put the result in {out}: one JSON object whose keys "
    "are the {group} names and whose values are the totals, rounded to 2 decimals.",
]

GRADER = """python3 - <<'PYEOF'
import json
expected = json.loads('''{expected}''')
cp = []
try:
    got = json.load(open({out!r}))
    cp.append({{'name': 'valid_json', 'score': 1.0, 'reason': 'parses'}})
except Exception as exc:
    got = None
    cp.append({{'name': 'valid_json', 'score': 0.0, 'reason': str(exc)[:100]}})
keys_ok = isinstance(got, dict) and set(got) == set(expected)
cp.append({{'name': 'groups', 'score': 1.0 if keys_ok else 0.0, 'reason': str(sorted(got) if isinstance(got, dict) else got)[:200]}})
wrong = [k for k in expected if not isinstance(got, dict) or not isinstance(got.get(k), (int, float)) or abs(got[k] - expected[k]) > 0.011]
cp.append({{'name': 'totals', 'score': 0.0 if wrong else 1.0, 'reason': 'wrong: ' + ', '.join(wrong) if wrong else 'all match'}})
print(json.dumps({{'checkpoints': cp}}))
PYEOF"""


def write_tasks(
    folder: Path, count: int = 8, *, seed: int = 7, mixed: bool = False, first: int = 0
) -> list[Path]:
    """`count` task folders under `folder`; the same seed writes the same tasks. `first`
    starts at a later subject: a set written from there shares no file, column or group
    name with the tasks before it (a held-out set for a runtime that learned on those)."""
    rng = random.Random(seed + first)
    paths = []
    for index in range(first, first + count):
        stem, rows, group, value, groups = SUBJECTS[index % len(SUBJECTS)]
        file = f"{stem}-{rng.randint(2020, 2026)}.csv"
        out = f"{rng.choice(['totals', 'summary', 'by-' + group])}.json"
        lines = [f"id,{group},{value},note"]
        totals: dict[str, float] = {}
        for row in range(rng.randint(8, 16)):
            name = rng.choice(groups)
            amount = round(rng.uniform(5, 500), 2)
            totals[name] = totals.get(name, 0.0) + amount
            lines.append(f"{row + 1},{name},{amount},{rng.choice(['ok', 'late', 'checked'])}")
        expected = {k: round(v, 2) for k, v in sorted(totals.items())}
        phrasing = PHRASINGS[index % len(PHRASINGS)] if mixed else PHRASINGS[0]
        task_id = f"csv-totals-{index + 1:02d}"
        task_dir = folder / task_id
        (task_dir / "fixtures").mkdir(parents=True, exist_ok=True)
        (task_dir / "fixtures" / file).write_text("\n".join(lines) + "\n")
        task = {
            "id": task_id,
            "category": "data",
            "prompt": phrasing.format(file=file, rows=rows, group=group, value=value, out=out),
            "timeoutMs": 300000,
            "maxSteps": 12,
            "skill": _relative(SKILL, task_dir),
            "eval": [
                {
                    "method": "script",
                    "command": GRADER.format(expected=json.dumps(expected), out=out),
                    "expectedExitCode": 0,
                }
            ],
        }
        (task_dir / "task.json").write_text(json.dumps(task, indent=2) + "\n")
        paths.append(task_dir)
    return paths


def _relative(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start.resolve())


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    written = write_tasks(
        Path(arguments[0]),
        int(arguments[1]) if len(arguments) > 1 else 8,
        mixed="--mixed" in sys.argv,
        first=next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--first=")), 0),
    )
    print("\n".join(str(p) for p in written))
