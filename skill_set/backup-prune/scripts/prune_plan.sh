#!/usr/bin/env bash
# prune_plan.sh - decide which dated backup archives to delete under a retention policy.
#
# Archives are named <prefix>-YYYY-MM-DD.tar.gz. The newest --keep archives are kept,
# and so is the newest archive of each of the --monthly most recent months. Everything
# else is printed (sorted by name) as the list to delete. Nothing is deleted here.
set -euo pipefail
export LC_ALL=C

usage() {
  cat >&2 <<'USAGE'
usage: bash scripts/prune_plan.sh --list FILE --keep N [--monthly M] [--prefix NAME] [--out FILE]
  --list FILE     file with one archive name per line (e.g. the output of ls -1)
  --keep N        keep the N newest archives (N >= 1)
  --monthly M     also keep the newest archive of each of the M most recent months (default 0)
  --prefix NAME   only consider archives named NAME-YYYY-MM-DD.tar.gz (default: every prefix)
  --out FILE      write the delete list to FILE instead of standard output
USAGE
  exit 2
}

LIST="" KEEP="" MONTHLY=0 PREFIX="" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --list|--keep|--monthly|--prefix|--out)
      [ $# -ge 2 ] || { echo "error: $1 needs a value" >&2; usage; }
      case "$1" in
        --list) LIST=$2 ;; --keep) KEEP=$2 ;; --monthly) MONTHLY=$2 ;;
        --prefix) PREFIX=$2 ;; --out) OUT=$2 ;;
      esac
      shift 2 ;;
    -h|--help) usage ;;
    *) echo "error: unknown option $1" >&2; usage ;;
  esac
done

[ -n "$LIST" ] || { echo "error: --list is required" >&2; usage; }
[ -n "$KEEP" ] || { echo "error: --keep is required" >&2; usage; }
[ -f "$LIST" ] || { echo "error: no such file: $LIST" >&2; exit 1; }
[[ "$KEEP" =~ ^[0-9]+$ && "$KEEP" -ge 1 ]] || { echo "error: --keep must be a whole number >= 1" >&2; exit 1; }
[[ "$MONTHLY" =~ ^[0-9]+$ ]] || { echo "error: --monthly must be a whole number" >&2; exit 1; }

if [ -n "$PREFIX" ]; then name_re="^${PREFIX}-[0-9]{4}-[0-9]{2}-[0-9]{2}\.tar\.gz$"
else name_re='^[A-Za-z0-9_]+-[0-9]{4}-[0-9]{2}-[0-9]{2}\.tar\.gz$'; fi

# Trimmed, de-duplicated, non-comment lines.
names=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$LIST" | grep -v -e '^#' -e '^$' | sort -u || true)
archives=$(printf '%s\n' "$names" | grep -E "$name_re" || true)
ignored=$(printf '%s\n' "$names" | grep -v -E "$name_re" | grep -c . || true)

# Newest first (date, then name, descending); keep the first N and the newest of each of
# the M most recent months; print the rest.
plan=$(printf '%s\n' "$archives" | grep . \
  | awk '{ print substr($0, length($0) - 16, 10) "\t" $0 }' | sort -r \
  | awk -F'\t' -v keep="$KEEP" -v monthly="$MONTHLY" '
      { month = substr($1, 1, 7); k = (NR <= keep)
        if (!(month in seen)) { seen[month] = 1; months++; if (months <= monthly) k = 1 }
        if (!k) print $2 }' | sort || true)

total=$(printf '%s\n' "$archives" | grep -c . || true)
doomed=$(printf '%s\n' "$plan" | grep -c . || true)
if [ -n "$OUT" ]; then
  if [ -n "$plan" ]; then printf '%s\n' "$plan" > "$OUT"; else : > "$OUT"; fi
else
  [ -z "$plan" ] || printf '%s\n' "$plan"
fi
echo "archives: $total, keep: $((total - doomed)), delete: $doomed, ignored lines: $ignored" >&2
