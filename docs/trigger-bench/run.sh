#!/usr/bin/env bash
# The trigger bench (issue 29, part 5), resumable across sittings.
#
#   docs/trigger-bench/run.sh [bare|opencode|all]
#
# runs `skvm triggers` on every skill in sample_skills/ and skill_set/ for the embedded 1.5B,
# in our agent (bare: discover mode, the model must call load_skill) and in OpenCode (its
# `skill` tool), `all` (the default) both, our agent first. Each run is one record file in
# docs/trigger-bench/results/<skill>/records/, so an interrupted bench continues where it
# stopped: run the same command again. Traces stay in the workspace ($SKVM_HOME).
# At the end summary.py merges the per-skill reports into report.md and report.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=docs/trigger-bench
MODEL="${MODEL:-local/qwen2.5-coder-1.5b}"
RUNS="${RUNS:-1}"
export SKVM_HOME="${SKVM_HOME:-$PWD/.bench-workspace}"
case "${1:-all}" in
  bare) HARNESSES=(bare) ;;
  opencode) HARNESSES=(opencode) ;;
  all) HARNESSES=(bare opencode) ;;
  *) echo "usage: $0 [bare|opencode|all]" >&2; exit 2 ;;
esac
summary() { .venv/bin/python "$HERE/summary.py" "$HERE/results" || true; }
trap summary EXIT
trap "exit 130" INT TERM
for harness in "${HARNESSES[@]}"; do
  for skill in sample_skills/*/ skill_set/*/; do
    [ -f "$skill/SKILL.md" ] || continue
    name="$(basename "$skill")"
    echo "== $name · $harness"
    .venv/bin/skvm triggers --skill "$skill" --target "$MODEL" --harness "$harness" \
        --runs "$RUNS" --out "$HERE/results/$name/$harness"
  done
done
