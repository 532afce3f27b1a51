#!/usr/bin/env bash
# demo: tools/demo runs from this build (--build-dir: no setup, no build) and
# says what README promises: hello's output; 20 pages of 0.3 s arriving one by
# one, the total next to the sum of their times (which it must beat by far); a
# thread-per-connection server holding 300 connections on 300+ OS threads
# plainly and on a handful under greenrun --threads.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR SANITIZE
set -euo pipefail
source=$1 build=$2 sanitize=$3

fail() { echo "FAIL: $*" >&2; echo "--- tools/demo printed:" >&2; echo "$out" >&2; exit 1; }
if [ "$sanitize" != none ]; then
  # As tests/examples: the sanitizer's own pthread_create interceptor starts an instrumented server's threads.
  echo "SKIP: the demo's legacy server is instrumented in a sanitized build, and greenrun --threads cannot patch its threads" >&2
  exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed (tools/setup installs it)" >&2; exit 77; }

out=""
out=$("$source/tools/demo" --build-dir "$build" 2>&1) || fail "tools/demo exited with $?"

grep -qx "sum of squares: 55" <<<"$out" || fail "no output of examples/hello"
arrived=$(grep -cE '^ +[0-9]+\.[0-9]{2} s  [0-9]+ bytes received from http://127\.0\.0\.1:[0-9]+/delay/300/page/[0-9]+$' <<<"$out" || true)
[ "$arrived" -eq 20 ] || fail "$arrived pages reported as they arrived, not 20"
# "20 of 20 pages in T s; one after another they would take S s (the sum of their times)"
read -r total sum < <(sed -nE 's/^20 of 20 pages in ([0-9.]+) s; one after another they would take ([0-9.]+) s .*/\1 \2/p' <<<"$out")
[ -n "${total:-}" ] || fail "no summary line from examples/fetch"
awk -v t="$total" -v s="$sum" 'BEGIN { exit !(t >= 0.29 && s >= 5.99 && t < s / 3) }' ||
  fail "20 pages of 0.3 s took $total s against $sum s one after another"
# "   connections   OS threads: plain   OS threads: greenrun --threads" and the row under it.
read -r connections plain green < <(grep -A1 'OS threads: greenrun --threads' <<<"$out" | tail -1)
[ "${connections:-}" = 300 ] || fail "no row of thread counts"
[ "$plain" -gt 300 ] || fail "the plain server has $plain OS threads for 300 connections"
[ "$green" -le 4 ] || fail "under greenrun --threads the server has $green OS threads for 300 connections"
echo "demo: 20 pages in $total s (one after another: $sum s); 300 connections on $plain OS threads plainly, $green under greenrun --threads"
