#!/usr/bin/env bash
# Runs one fuzz target: run.sh TARGET SEEDS SECONDS
#   SECONDS = 0: each input of the seed corpus once (the regression check:
#   every input that ever crashed a target is kept in its corpus);
#   otherwise fuzz for that long from the seeds, in a scratch corpus (the seed
#   directory is never written). Prints libFuzzer's final statistics (the
#   number of executions); on a crash, the input in hex as well, to add to the
#   seeds once fixed.
set -uo pipefail
target=$1 seeds=$2 seconds=$3
if [ "$seconds" = 0 ]; then
  exec "$target" -runs=0 "$seeds"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$seeds" 2>"$work/log"
rc=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|INFO: Running with|Done)' "$work/log"
if [ "$rc" -ne 0 ]; then
  tail -60 "$work/log"
  for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [ -f "$f" ] && { echo "input that failed ($(basename "$f")):"; od -An -tx1 -v "$f"; }
  done
fi
exit "$rc"
