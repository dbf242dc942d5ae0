"""Fixtures for fault tests: a private Redis server and a private PostgreSQL
cluster (each on its own port and directory, started and stopped by the
test, so it can be killed or frozen without touching the shared ones) and
the PostgreSQL test schema."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from gateway.core.db import Database
from gateway.market.seed import seed
from tests.conftest import TEST_PG_URL, _empty_pg

FIRST_PORT = 6390  # the shared Redis is on 6379; ours are above it
FIRST_PG_PORT = 5490  # the shared PostgreSQL is on 5432
PG_USER = "postgres"  # initdb refuses root: the cluster runs as this system user
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


class PrivateServer:
    """A server process the test owns: `freeze` (SIGSTOP), `thaw` (SIGCONT),
    `stop` and `start`. `pids()` are the processes a signal must reach (a
    PostgreSQL cluster is a postmaster and its children)."""

    def __init__(self, url: str, start, stop, pids):
        self.url, self._start, self._stop, self.pids = url, start, stop, pids

    def freeze(self) -> None:
        for pid in self.pids():
            _signal(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.pids():
            _signal(pid, signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()  # a frozen server cannot shut down
        self._stop()

    def start(self) -> None:
        self._start()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:  # a backend that ended meanwhile
        pass


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(child) for child in listing.read().split()]
    except OSError:
        return []


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _as_pg_user(args: list[str]) -> list[str]:
    """`args` run as PG_USER when the test runs as root (initdb refuses root)."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", PG_USER, "--", *args]


@pytest.fixture
def private_pg():
    """A PostgreSQL cluster of the test's own (trust auth, loopback, its own
    port), as a PrivateServer whose url names database `postgres`."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb refuses root")
    # Not under pytest's tmp_path: its parents are private to the user
    # running the tests, and the cluster's user must reach its directory.
    home = Path(tempfile.mkdtemp(prefix="isoko-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, PG_USER)
    data = home / "data"
    init = subprocess.run(_as_pg_user([f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres",
                                "-E", "UTF8", "--no-sync"]),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    if init.returncode != 0:
        shutil.rmtree(home, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({init.returncode})")
    port = free_port(FIRST_PG_PORT)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {home} -c fsync=off"
    ctl = [f"{bindir}/pg_ctl", "-D", str(data), "-w", "-t", "30"]

    def start():
        subprocess.run(_as_pg_user([*ctl, "-o", options, "-l", str(home / "log"), "start"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def stop():
        subprocess.run(_as_pg_user([*ctl, "-m", "fast", "stop"]), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)

    def pids():
        try:
            postmaster = int((data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *_children(postmaster)]

    try:
        start()
        server = PrivateServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", start, stop, pids)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def private_redis_server(tmp_path):
    """A redis-server of the test's own as a PrivateServer (stop, start, freeze)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    processes: list[subprocess.Popen] = []

    def start():
        processes.append(subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_redis(port, processes[-1])

    def stop():
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)

    start()
    server = PrivateServer(f"redis://127.0.0.1:{port}/0", start, stop,
                           lambda: [p.pid for p in processes if p.poll() is None])
    try:
        yield server
    finally:
        server.stop()


def _wait_redis(port: int, process: subprocess.Popen) -> None:
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.05)
    finally:
        client.close()
