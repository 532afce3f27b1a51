# usage: /usr/bin/python3 gevent_park.py [N=100000]
# Memory per parked greenlet: VmRSS growth after N greenlets sit in gevent.sleep(30).
# Prints: RESULT gevent_park_rss_per_greenlet_bytes <bytes> bytes
import gc
import os
import sys

import gevent


def vm_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
started = 0


def park():
    global started
    started += 1
    gevent.sleep(30)


gc.collect()
before = vm_rss()
greenlets = [gevent.spawn(park) for _ in range(n)]
gevent.sleep(0.5)
while started < n:  # a slow machine may need longer than 0.5 s to start them all
    gevent.sleep(0.1)
gc.collect()
after = vm_rss()
print(f"started={started} rss before={before} after={after}", file=sys.stderr)
print(f"RESULT gevent_park_rss_per_greenlet_bytes {(after - before) / n:.0f} bytes", flush=True)
os._exit(0)  # don't wait 30 s for the sleepers
