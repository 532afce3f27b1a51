# usage: /usr/bin/python3 gevent_switch.py [N=200000 round trips]
# gevent switch cost: two greenlets ping-pong over two gevent.queue.Channel
# (synchronous, unbuffered: the closest match to Go's unbuffered channels).
# Prints: RESULT gevent_switch_ns <ns per switch> ns (a round trip = 2 switches)
import sys
import time

import gevent
from gevent.queue import Channel

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
ping, pong = Channel(), Channel()


def peer():
    while True:
        v = ping.get()
        if v is None:
            return
        pong.put(v + 1)


g = gevent.spawn(peer)
ping.put(0)  # warm up: make sure the peer greenlet is running
pong.get()
t0 = time.perf_counter()
for i in range(n):
    ping.put(i)
    pong.get()
el = time.perf_counter() - t0
ping.put(None)
g.join()
print(f"{n} round trips in {el:.3f} s", file=sys.stderr)
print(f"RESULT gevent_switch_ns {el * 1e9 / (2 * n):.2f} ns")
