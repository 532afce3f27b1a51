#!/usr/bin/env bash
# usage: tools/bench/peers/build.sh [OUTDIR=/tmp/green-peers]
# Builds every benchmark peer (C, C++, Go) into OUTDIR. Works offline: Go
# uses only the standard library, with its cache and GOPATH under OUTDIR.
# Exits non-zero if anything fails to build.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-/tmp/green-peers}
mkdir -p "$out"
out=$(cd "$out" && pwd)
fail=0
run() { echo "+ $*" >&2; "$@" || { echo "FAILED: $*" >&2; fail=1; }; }

for f in epoll_http epoll_echo echo_load idle_load blocking_client blocking_getaddrinfo spawn_wait; do
    run gcc -O2 -Wall -o "$out/$f" "$here/$f.c"
done
run gcc -O2 -Wall -o "$out/epoll_https" "$here/epoll_https.c" -lssl -lcrypto
run gcc -O2 -Wall -pthread -o "$out/thread_echo" "$here/thread_echo.c"
run gcc -O2 -Wall -pthread -o "$out/thread_bench" "$here/thread_bench.c"
run g++ -O2 -std=c++20 -Wall -o "$out/raw_switch" "$here/raw_switch.cpp" -lboost_context
if [ "$(uname -m)" = x86_64 ]; then
    run g++ -O2 -std=c++20 -Wall -I "$here/../../../runtime/include" -I "$here/../../../runtime/src" \
        -o "$out/raw_own_switch" "$here/raw_own_switch.cpp"
fi
run g++ -O2 -std=c++20 -Wall -o "$out/fiber_spawn" "$here/fiber_spawn.cpp" -lboost_fiber -lboost_context

# Offline, self-contained Go: no proxy, no user config, caches under $out.
export GOPROXY=off GOFLAGS=-mod=mod GOENV=off GOTOOLCHAIN=local
export GOCACHE="$out/.gocache" GOPATH="$out/.gopath"
cd "$here/go"
for f in switch spawn park http idle; do
    run go build -o "$out/go_$f" "$f.go"
done
cp "$here"/gevent_*.py "$out/"

if [ "$fail" -ne 0 ]; then echo "build.sh: some peers failed to build" >&2; exit 1; fi
echo "built peers into $out" >&2
