#!/usr/bin/env bash
# The held-out skill set bench (issue: verified synthesis), resumable across sittings.
#
#   docs/skill-set-bench/run.sh 0.5b|1.5b [base|compiled|all]
#
# starts or resumes that model's session for those conditions: `base` is no-skill and
# original (they do not depend on the compiler, so they run while it changes), `compiled`
# the compiler's output, `all` (the default) the three in one session. The report merges
# a model's sessions.
#
# Plans and run records are kept in docs/skill-set-bench/sessions/ (no traces), restored into
# the workspace before a sitting and copied back after it, so an interrupted bench resumes on
# any machine. Synthesis results are cached in the workspace and recorded in meta.json of
# each compiled variant. Runs: 3 on the 0.5B, 2 on the 1.5B, temperature 0.7 seeded by run.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=docs/skill-set-bench
export SKVM_HOME="${SKVM_HOME:-$PWD/.bench-workspace}"
case "${1:-}" in
  0.5b) MODEL=local/qwen2.5-coder-0.5b RUNS=3 ;;
  1.5b) MODEL=local/qwen2.5-coder-1.5b RUNS=2 ;;
  *) echo "usage: $0 0.5b|1.5b [base|compiled|all]" >&2; exit 2 ;;
esac
PART="${2:-all}"
case "$PART" in
  base) CONDITIONS=no-skill,original ;;
  compiled) CONDITIONS=compiled ;;
  all) CONDITIONS=no-skill,original,compiled ;;
  *) echo "usage: $0 0.5b|1.5b [base|compiled|all]" >&2; exit 2 ;;
esac
mkdir -p "$SKVM_HOME/bench" "$HERE/sessions"
NAME_FILE="$HERE/sessions/${1}${2:+-$2}.session"
SESSION="$(cat "$NAME_FILE" 2>/dev/null || true)"
if [ -n "$SESSION" ] && [ -d "$HERE/sessions/$SESSION" ] && [ ! -d "$SKVM_HOME/bench/$SESSION" ]; then
  cp -r "$HERE/sessions/$SESSION" "$SKVM_HOME/bench/$SESSION"
fi
save() {  # the plan and run records (JSON, no traces) back into the repository
  local name="${SESSION:-$(ls -t "$SKVM_HOME/bench" 2>/dev/null | head -1)}"
  [ -n "$name" ] || return 0
  echo "$name" > "$NAME_FILE"
  (cd "$SKVM_HOME/bench/$name" && find . -name '*.json' -print0) |
    while IFS= read -r -d '' f; do
      mkdir -p "$HERE/sessions/$name/$(dirname "$f")"
      cp "$SKVM_HOME/bench/$name/$f" "$HERE/sessions/$name/$f"
    done
}
# Synthesis results (one JSON per skill contract, minutes of model time each) travel with
# the sessions, so a compile resumed on another machine does not synthesise again.
SYNTH="$SKVM_HOME/cache/compile/synthesis"
mkdir -p "$SYNTH" "$HERE/synthesis-cache"
cp -n "$HERE/synthesis-cache/"*.json "$SYNTH/" 2>/dev/null || true
save_all() { save; cp "$SYNTH/"*.json "$HERE/synthesis-cache/" 2>/dev/null || true; }
trap save_all EXIT
trap "exit 130" INT TERM
if [ -n "$SESSION" ]; then
  .venv/bin/skvm bench --resume "$SESSION"
else
  .venv/bin/skvm bench --tasks skill_set/tasks --targets "$MODEL" \
      --conditions "$CONDITIONS" --runs "$RUNS"
fi
