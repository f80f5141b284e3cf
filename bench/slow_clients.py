#!/usr/bin/env python3
"""Slow and silent clients for bench/reliability.sh: connections that hold a server's sockets
without finishing a request.

    bench/slow_clients.py HOST PORT SECONDS [--idle N] [--dribble N] [--slow-body N] [--auth B64]

* idle: connect and send nothing; when the server closes the connection, connect again.
* dribble: send a request's headers one byte a second (slowloris), again after each close.
* slow-body: send complete headers (with credentials, as a misbehaving sender would) announcing
  a 64 KB body, then the body one byte a second (a slow POST).

Every kind keeps its number of connections open for SECONDS, then prints one line per kind: how
many connections it opened, how many the server closed, and the median time the server kept one
open. Standard library only.
"""

import argparse
import asyncio
import statistics
import time

HEADERS = (
    "POST /cxf/isc/events HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\n"
    "X-Filler: {filler}\r\n\r\n"
)


class Kind:
    def __init__(self, name):
        self.name = name
        self.opened = 0
        self.closed_by_server = 0
        self.lifetimes = []

    def report(self):
        median = statistics.median(self.lifetimes) if self.lifetimes else float("nan")
        print(
            f"{self.name}: {self.opened} connections opened, {self.closed_by_server} closed by "
            f"the server, held a median {median:.1f} s each"
        )


async def hold(kind, host, port, until, send):
    """One connection slot: connect, run `send`, note how long the server kept it, again."""
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        kind.opened += 1
        start = time.monotonic()
        sender = asyncio.create_task(send(writer))
        try:
            # The server closing (or answering) ends the slot's connection.
            await asyncio.wait_for(reader.read(65536), timeout=max(0.0, until - start))
            kind.closed_by_server += 1
            kind.lifetimes.append(time.monotonic() - start)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            sender.cancel()
            writer.close()


async def nothing(writer):
    await asyncio.Event().wait()


async def dribble(writer):
    for byte in HEADERS.format(filler="x" * 64).encode():
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1)


def slow_body(auth):
    async def send(writer):
        head = (
            "POST /cxf/isc/events HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\n"
            f"Authorization: Basic {auth}\r\nContent-Length: 65536\r\n\r\n"
        )
        writer.write(head.encode())
        await writer.drain()
        while True:
            await asyncio.sleep(1)
            writer.write(b"<")
            await writer.drain()

    return send


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--idle", type=int, default=0)
    parser.add_argument("--dribble", type=int, default=0)
    parser.add_argument("--slow-body", type=int, default=0)
    parser.add_argument("--auth", default="")
    args = parser.parse_args()
    until = time.monotonic() + args.seconds
    kinds = []
    slots = []
    for name, count, send in [
        ("idle", args.idle, nothing),
        ("dribble", args.dribble, dribble),
        ("slow-body", args.slow_body, slow_body(args.auth)),
    ]:
        if count:
            kind = Kind(name)
            kinds.append(kind)
            slots += [hold(kind, args.host, args.port, until, send) for _ in range(count)]
    await asyncio.gather(*slots)
    for kind in kinds:
        kind.report()


if __name__ == "__main__":
    asyncio.run(main())
