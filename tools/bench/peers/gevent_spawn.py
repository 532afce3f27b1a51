# usage: /usr/bin/python3 gevent_spawn.py [R=100 batches] [B=1000 per batch]
# gevent spawn+run+join cost: batches of B greenlets, gevent.joinall each batch.
# Prints: RESULT gevent_spawn_join_ns <ns per greenlet> ns
import sys
import time

import gevent

r = int(sys.argv[1]) if len(sys.argv) > 1 else 100
b = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
out = [0] * b


def work(i):
    out[i] = i


t0 = time.perf_counter()
for _ in range(r):
    gevent.joinall([gevent.spawn(work, i) for i in range(b)])
el = time.perf_counter() - t0
print(f"{r * b} greenlets in {el:.3f} s (check {out[b - 1]})", file=sys.stderr)
print(f"RESULT gevent_spawn_join_ns {el * 1e9 / (r * b):.2f} ns")
