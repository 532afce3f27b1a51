# A "real program" for the shim tests: the standard library's blocking calls
# (socket timeouts, select, create_connection, urllib, getaddrinfo, sleep,
# subprocess, asyncio), printing results. Timings are printed only as "about
# right" booleans.
#   python3 probe.py PORT    PORT: a local HTTP server whose root has hello.txt
import asyncio
import errno
import os
import select
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

port = int(sys.argv[1])


def about(took, want):
    return want * 0.75 <= took < want + 3.0


def timed(f):
    t0 = time.monotonic()
    r = f()
    return r, time.monotonic() - t0


# A socket timeout with no data: socket.timeout after about 0.2 s.
a, b = socket.socketpair()
a.settimeout(0.2)
t0 = time.monotonic()
try:
    a.recv(10)
    print("recv: no timeout")
except socket.timeout as e:
    print("recv timeout:", type(e).__name__, e, "about 0.2 s:", about(time.monotonic() - t0, 0.2))
b.sendall(b"data")
print("recv with timeout:", a.recv(10))
a.settimeout(None)
b.sendall(b"more")
print("blocking recv:", a.recv(10))
a.setblocking(False)
try:
    a.recv(10)
except BlockingIOError as e:
    print("non-blocking recv:", errno.errorcode[e.errno])
a.setblocking(True)
print("gettimeout:", a.gettimeout())
b.close()
print("recv after close:", a.recv(10))
a.close()

# select on a pipe and on sockets.
r, w = os.pipe()
res, took = timed(lambda: select.select([r], [], [], 0.1))
print("select empty pipe:", res, "about 0.1 s:", about(took, 0.1))
os.write(w, b"x")
print("select pipe with data:", select.select([r], [w], [], 1.0) == ([r], [w], []))
print("read:", os.read(r, 10))
os.close(w)
print("select pipe at EOF:", select.select([r], [], [], 1.0) == ([r], [], []), os.read(r, 10))
os.close(r)
s1, s2 = socket.socketpair()
print("select sockets:", select.select([s1, s2], [s1], [], 0.5) == ([], [s1], []))
s2.send(b"y")
print("select readable socket:", select.select([s1], [], [], 0.5) == ([s1], [], []))
p = select.poll()
p.register(s1, select.POLLIN)
print("poll:", [(fd == s1.fileno(), ev) for fd, ev in p.poll(500)])
s1.close()
s2.close()

# create_connection and a raw HTTP request.
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n")
reply = b""
while True:
    part = c.recv(4096)
    if not part:
        break
    reply += part
c.close()
print("raw http status:", reply.split(b"\r\n", 1)[0])
print("raw http body:", reply.split(b"\r\n\r\n", 1)[1])

# A closed port.
closed = socket.socket()
closed.bind(("127.0.0.1", 0))
closed_port = closed.getsockname()[1]
closed.close()
try:
    socket.create_connection(("127.0.0.1", closed_port), timeout=5)
    print("connect to closed port: connected?")
except OSError as e:
    print("connect to closed port:", type(e).__name__, errno.errorcode.get(e.errno))

# urllib, never through a proxy.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(f"http://127.0.0.1:{port}/hello.txt", timeout=5) as f:
    print("urllib:", f.status, f.read())
with opener.open(f"http://127.0.0.1:{port}/big.bin", timeout=5) as f:
    body = f.read()
    print("urllib big:", f.status, len(body), body == bytes(range(256)) * (len(body) // 256))
try:
    opener.open(f"http://127.0.0.1:{port}/missing", timeout=5)
except urllib.error.HTTPError as e:
    print("urllib missing:", e.code)

# getaddrinfo of localhost (the hosts file).
print("getaddrinfo localhost:", socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM))
print("getaddrinfo localhost any family:",
      sorted(set(ai[4][0] for ai in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM))))
print("getaddrinfo numeric:", socket.getaddrinfo("127.0.0.1", "http", socket.AF_INET, socket.SOCK_STREAM))
print("gethostbyname localhost:", socket.gethostbyname("localhost"))
print("getnameinfo numeric:", socket.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV))

# time.sleep.
_, took = timed(lambda: time.sleep(0.1))
print("sleep 0.1 s:", about(took, 0.1))

# subprocess: fork, exec, pipes, wait.
out = subprocess.run(["/bin/echo", "from a child"], capture_output=True, timeout=10)
print("subprocess:", out.returncode, out.stdout)
out = subprocess.run([sys.executable, "-c", "import time, sys; time.sleep(0.05); sys.exit(3)"], timeout=10)
print("subprocess exit:", out.returncode)


# asyncio: an echo server and client on loopback.
async def echo_round_trip():
    async def handle(reader, writer):
        data = await reader.read(100)
        writer.write(data.upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    where = server.sockets[0].getsockname()
    reader, writer = await asyncio.open_connection(*where)
    writer.write(b"asyncio echo")
    await writer.drain()
    got = await reader.read(100)
    writer.close()
    t0 = time.monotonic()
    await asyncio.sleep(0.05)
    slept = about(time.monotonic() - t0, 0.05)
    try:
        await asyncio.wait_for(asyncio.Event().wait(), timeout=0.05)
        timed_out = False
    except asyncio.TimeoutError:
        timed_out = True
    server.close()
    await server.wait_closed()
    return got, slept, timed_out


print("asyncio:", asyncio.run(echo_round_trip()))
print("done")
