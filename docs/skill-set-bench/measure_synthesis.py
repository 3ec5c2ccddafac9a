"""Synthesis by a compiler model on skills, one JSON record per skill, resumable.

    python docs/skill-set-bench/measure_synthesis.py OUT_DIR SKILL_DIR... [--model M] [--candidates N]

A skill whose record is already in OUT_DIR is skipped, so an interrupted sitting resumes.
Each record is the `Synthesis` that `skvm compile` would store (offered or not, why,
agreement, every candidate's problems, tokens, seconds) plus the commit it ran at.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from skvm_core.compile.contract import extract_contract
from skvm_core.compile.synthesis import synthesise
from skvm_core.skill import load_skill
from skvm_core.store.atomic import atomic_write_text


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("skills", nargs="+", type=Path)
    parser.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    parser.add_argument("--candidates", type=int, default=4)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    args.out.mkdir(parents=True, exist_ok=True)
    for folder in args.skills:
        target = args.out / f"{folder.name}.json"
        if target.is_file():
            continue
        skill = load_skill(folder)
        result = synthesise(skill, extract_contract(skill), args.model, candidates=args.candidates)
        record = {"skill": folder.name, "commit": commit, **result.model_dump(mode="json")}
        atomic_write_text(target, json.dumps(record, indent=2))
        print(
            f"{folder.name}: offered={result.offered} agreement={result.agreement} "
            f"{result.seconds:.0f}s {result.tokens} tokens: {result.reason}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
