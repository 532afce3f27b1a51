#!/usr/bin/env python3
"""An upstream DNS server that answers every query after a fixed delay, the way a
resolver a few milliseconds away would: A queries get 127.0.0.1, AAAA queries get
::1, anything else an empty answer. Queries are answered concurrently.

Usage: slow_dns.py PORT DELAY_MS   (listens on 127.0.0.1:PORT, UDP)
"""
import asyncio
import struct
import sys


def answer(query: bytes) -> bytes:
    # Header: id, flags, qdcount, ancount, nscount, arcount; then one question.
    qid = query[:2]
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    qtype, _qclass = struct.unpack(">HH", query[end + 1 : end + 5])
    question = query[12 : end + 5]
    if qtype == 1:
        rdata = bytes([127, 0, 0, 1])
    elif qtype == 28:
        rdata = bytes(15) + b"\x01"
    else:
        rdata = None
    flags = struct.pack(">H", 0x8180)  # response, recursion desired and available, NOERROR
    counts = struct.pack(">HHHH", 1, 1 if rdata else 0, 0, 0)
    records = b""
    if rdata:
        records = b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 60, len(rdata)) + rdata
    return qid + flags + counts + question + records


class Slow(asyncio.DatagramProtocol):
    def __init__(self, delay):
        self.delay = delay

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        try:
            reply = answer(data)
        except (IndexError, struct.error):
            return
        asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, reply, addr)


async def main(port, delay):
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: Slow(delay), local_addr=("127.0.0.1", port))
    print("listening", file=sys.stderr, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: slow_dns.py PORT DELAY_MS")
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) / 1000.0))
