"""The bench's own Redis server: databases 20-24 on a loopback port of its own.

Not a test. The tests of other work share the usual Redis server and flush
its databases 10-15 whenever they start; a bench on those databases loses its
sessions mid-journey ("We lost your place") and reads another process's keys
as its own memory. So every bench that drives Isoko or a peer starts this
server instead: nothing persisted (no RDB, no AOF), databases 0-24 so the
bench's numbers 20-24 exist, stopped by the bench when it ends.

Databases: 20 Isoko, 21 the floor, 22 the SMS bench and the peers, 23 the
in-process counts, 24 Isoko on the peers' 3-screen journey (its own menu head).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from typing import Iterator

import redis

# BENCH_REDIS_PORT: another port, for a second bench on one machine (only one can hold a port).
PORT = int(os.environ.get("BENCH_REDIS_PORT", "16420"))
BASE = f"redis://127.0.0.1:{PORT}"
ISOKO_DB, FLOOR_DB, PEERS_DB, COUNTS_DB, ISOKO_3SCREEN_DB = 20, 21, 22, 23, 24


def url(db: int) -> str:
    """The address of one of the bench's databases on its own server."""
    return f"{BASE}/{db}"


@contextlib.contextmanager
def running() -> Iterator[None]:
    """Start the private server, wait (at most 10 s) until it answers, stop it on exit.

    Refuses to start when something already listens on PORT, rather than
    benchmarking (and flushing) a server the bench did not start."""
    probe = redis.Redis(port=PORT, socket_connect_timeout=0.5)
    with contextlib.suppress(redis.ConnectionError):
        probe.ping()
        raise SystemExit(f"port {PORT} is taken: the bench wants a Redis server of its own there")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(["redis-server", "--port", str(PORT), "--bind", "127.0.0.1",
                                 "--databases", "25", "--save", "", "--appendonly", "no",
                                 "--dir", tmp, "--loglevel", "warning",
                                 # DEBUG HTSTATS: growth.py waits for a resized keyspace to settle.
                                 "--enable-debug-command", "local"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(probe)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait(probe: redis.Redis) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.ConnectionError):
            probe.ping()
            return
        time.sleep(0.1)
    raise SystemExit("the bench's Redis server did not answer within 10 s")
