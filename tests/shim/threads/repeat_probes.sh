#!/bin/sh
# Runs every thread probe COUNT times (default 20) and reports any run whose
# stdout or exit status differs from the probe's first run: the probes must
# print the same bytes whatever the scheduling. With --busy, two busy loops
# keep both cores loaded meanwhile. Anything after -- is put in front of each
# probe, e.g. -- build/tools/greenrun --threads --
#   tests/shim/threads/repeat_probes.sh BUILD_DIR [COUNT] [--busy] [-- PREFIX...]
set -u
build=${1:?usage: repeat_probes.sh BUILD_DIR [COUNT] [--busy] [-- PREFIX...]}
shift
count=20
busy=0
while [ $# -gt 0 ]; do
    case $1 in
    --busy) busy=1 ;;
    --) shift; break ;;
    *) count=$1 ;;
    esac
    shift
done
dir=$build/tests/shim/threads
tmp=$(mktemp -d)
loops=""
cleanup() {
    for pid in $loops; do kill "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
if [ $busy = 1 ]; then
    for _ in 1 2; do
        sh -c 'while :; do :; done' &
        loops="$loops $!"
    done
fi

export GREEN_THREADS_EXCLUDE=libprobe_realthread.so  # probe_hybrid's library (meaningless natively)
failures=0
for probe in mutex cond rwlock misc futex cancel cancel_cxx "exit_main joinable" "exit_main detached" \
             "exit_main exit3" c11 cxx signals fork hybrid; do
    name=$(echo "$probe" | tr ' ' '_')
    # shellcheck disable=SC2086 # the probe's arguments split on purpose
    "$@" "$dir/threads_probe_"$probe >"$tmp/$name.ref" 2>"$tmp/$name.err"
    ref_rc=$?
    slowest=0
    i=1
    while [ $i -lt "$count" ]; do
        start=$(date +%s%N)
        # shellcheck disable=SC2086
        "$@" "$dir/threads_probe_"$probe >"$tmp/$name.out" 2>"$tmp/$name.err"
        rc=$?
        took=$((($(date +%s%N) - start) / 1000000))
        [ $took -gt $slowest ] && slowest=$took
        if [ $rc != $ref_rc ] || ! cmp -s "$tmp/$name.ref" "$tmp/$name.out"; then
            failures=$((failures + 1))
            echo "$probe: run $((i + 1)) differs (exit $rc, first run $ref_rc):"
            diff "$tmp/$name.ref" "$tmp/$name.out" | head -5
        fi
        i=$((i + 1))
    done
    echo "$probe: $count runs, exit $ref_rc, $(wc -l <"$tmp/$name.ref") lines, slowest ${slowest} ms"
done
[ $failures = 0 ] && echo "all runs the same" || echo "$failures runs differed"
[ $failures = 0 ]
