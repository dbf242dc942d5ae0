"""What one Redis command costs the gateway's own process (bench only).

    python -m bench.redis_client [--calls 20000]

On REDIS_URL (a loopback server and a database of the bench's own: it
writes `bench:rc:x`, one made-up session's keys and hop-stream entries),
times in one thread, per call: a plain GET through redis-py, the same GET
written to a bare socket (the least the kernel and the protocol cost), and
the hop's two round trips (`SessionStore.begin` and `finish`). Prints user and system CPU of this
process (`os.times`) and wall time, in microseconds per call.

Why: a hop is two such round trips, and the floor (`bench/floor.py`) two
plain ones; what the client library spends around each is paid by both
and sets how close any Python gateway can come to the floor. Nothing here
is imported by the gateway.
"""
from __future__ import annotations

import argparse
import os
import socket
import time

import redis

from gateway.ussd.sessions import Record, SessionStore

PHONE = "+250788009998"


def timed(label: str, call, calls: int) -> None:
    """Run `call` `calls` times and print its cost per call."""
    before, started = os.times(), time.perf_counter()
    for _ in range(calls):
        call()
    after, wall = os.times(), time.perf_counter() - started
    print(f"{label:28} user {(after.user - before.user) / calls * 1e6:6.1f} µs  "
          f"system {(after.system - before.system) / calls * 1e6:6.1f} µs  "
          f"wall {wall / calls * 1e6:6.1f} µs")


def bare_get(client: redis.Redis):
    """A GET of `bench:rc:x` written by hand to a socket on `client`'s
    server and database: one send, one recv."""
    where = client.connection_pool.connection_kwargs
    sock = socket.create_connection((where.get("host", "127.0.0.1"), where.get("port", 6379)), timeout=1.0)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    db = str(where.get("db", 0))
    sock.sendall(f"*2\r\n$6\r\nSELECT\r\n${len(db)}\r\n{db}\r\n".encode())
    sock.recv(64)
    command = b"*2\r\n$3\r\nGET\r\n$10\r\nbench:rc:x\r\n"
    return lambda: (sock.sendall(command), sock.recv(64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="per measurement, at most 200,000")
    args = parser.parse_args()
    calls = max(1, min(args.calls, 200_000))
    client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=1.0, socket_connect_timeout=1.0)
    client.set("bench:rc:x", "1", ex=600)
    store = SessionStore(client)
    record = Record(state={"st": {"menu": "marketplace"}, "vals": {"lang": "en"}, "scr": "main"},
                    text="1", replies={"1": "CON Isoko: Hello\n1. Sell\n2. Buy"}, hops=3)
    print(f"redis-py {redis.__version__}, {calls} calls each")
    for _ in range(2):  # the second pass is the steadier one
        timed("redis-py GET", lambda: client.get("bench:rc:x"), calls)
        timed("bare socket GET", bare_get(client), calls)
        timed("hop round trip 1 (begin)", lambda: store.begin("bench-rc", PHONE, "marketplace"), calls)
        timed("hop round trip 2 (finish)",
              lambda: store.finish("bench-rc", PHONE, record, snapshot=None, keep_snapshot=True), calls)


if __name__ == "__main__":
    main()
