"""Fixtures for fault tests: a private Redis server (its own port and
directory, started and stopped by the test, so it can be killed or frozen
without touching the shared one) and the PostgreSQL test schema."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

from gateway.core.db import Database
from gateway.market.seed import seed
from tests.conftest import TEST_PG_URL, _empty_pg

FIRST_PORT = 6390  # the shared Redis is on 6379; ours are above it
PORTS = 40  # ports tried, bounded


def free_port(first: int = FIRST_PORT) -> int:
    for port in range(first, first + PORTS):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}..{first + PORTS - 1}")


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of the test's own (no persistence), as (url, client)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", client
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def pg_database(_pg_schema):
    """The migrated PostgreSQL test schema, emptied and seeded (what a
    separate worker process shares with the test)."""
    db = Database(TEST_PG_URL)
    _empty_pg(db, _pg_schema)
    with db.session() as s:
        seed(s)
    yield db
    db.dispose()
