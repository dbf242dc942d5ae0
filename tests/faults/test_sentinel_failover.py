"""Kill the Redis master under a stream of hops: with REDIS_SENTINELS the web
app and a real `gateway worker` follow the promoted replica by themselves.

A private master, its replica and three sentinels run on loopback ports of
the test's own (`redis-server`, `redis-server --sentinel`). The test
measures the seconds without service (from the first hop that got the
polite END to the first `CON` after it) and how many hops got that END, and
checks that no hop hung, that the sentinels promoted the replica, that the
app then serves from it, and that the worker sends an SMS queued after the
failover.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from gateway.sms.models import Message, MessageStatus
from gateway.ussd import profiles
from tests.conftest import TEST_PG_URL, TEST_REDIS_URL
from tests.faults.conftest import free_port
from tests.ussd.helpers import Phone, option, register

REPO = Path(__file__).resolve().parents[2]
MASTER = "isoko"
SECRET = "fault-test-secret-key-0123456789abcdef"
DOWN_AFTER_MS = 1000  # how soon the sentinels call the master down
TRAFFIC_SECONDS = 40  # the stream's hard end, however the failover goes
SETTLE_SECONDS = 3  # clean service needed after the gap before the stream stops


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except redis.RedisError:
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Cluster:
    """One master, one replica, three sentinels; every process ours."""

    def __init__(self, tmp: Path):
        self.tmp, self.procs = tmp, {}
        self.binary = shutil.which("redis-server")
        self.master_port = free_port(6400)
        self.replica_port = free_port(self.master_port + 1)
        self.sentinel_ports = []
        for _ in range(3):
            self.sentinel_ports.append(free_port((self.sentinel_ports or [self.replica_port])[-1] + 1))

    def start(self) -> None:
        self._server("master", self.master_port)
        self._server("replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
        replica = redis.Redis(port=self.replica_port)
        wait_until(lambda: replica.info("replication").get("master_link_status") == "up", 15,
                   "the replica to sync")
        for i, port in enumerate(self.sentinel_ports):
            conf = self.tmp / f"sentinel{i}.conf"
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {self.tmp}\n"
                            f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 2\n"
                            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                            f"sentinel failover-timeout {MASTER} 10000\n")
            self._spawn(f"sentinel{i}", [self.binary, str(conf), "--sentinel"], port)
        first = redis.Redis(port=self.sentinel_ports[0])
        wait_until(lambda: first.sentinel_master(MASTER).get("num-other-sentinels") == 2, 20,
                   "the sentinels to find each other")

    def _server(self, name: str, port: int, *extra: str) -> None:
        self._spawn(name, [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", str(self.tmp), *extra], port)

    def _spawn(self, name: str, argv: list[str], port: int) -> None:
        with (self.tmp / f"{name}.log").open("w") as log:  # the child keeps its own handle
            self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: redis.Redis(port=port, socket_timeout=0.5).ping(), 10, f"{name} to start")

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def master_address(self) -> tuple[str, int]:
        host, port = redis.Redis(port=self.sentinel_ports[0]).sentinel_get_master_addr_by_name(MASTER)
        return (host.decode() if isinstance(host, bytes) else host), int(port)

    def kill_master(self) -> None:
        self.procs["master"].send_signal(signal.SIGKILL)
        self.procs["master"].wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    built = Cluster(tmp_path)
    try:
        built.start()
        yield built
    finally:
        built.stop()


def start_worker(cluster: Cluster, log: Path) -> subprocess.Popen:
    """`gateway worker` on the sentinels, sending to the local outbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AT_", "SMS_", "CALLBACK", "REDIS"))}
    # REDIS_URL gives only the database number (the tests' own) with sentinels.
    env.update({"DATABASE_URL": TEST_PG_URL, "REDIS_URL": TEST_REDIS_URL,
                "REDIS_SENTINELS": cluster.sentinels,
                "REDIS_SENTINEL_MASTER": MASTER, "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"})
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-c", "from gateway.cli import main; main()", "worker"],
                                env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def queue_is_watched(client) -> bool:
    """True once an RQ worker has registered itself on this Redis."""
    return bool(client.smembers("rq:workers"))


def stop_worker(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def stream(phone: Phone, cluster: Cluster) -> list[tuple[float, float, str]]:
    """First hops of a known phone, one after another, each a new session;
    the master is killed 2 s in. (start, seconds, reply) for each, bounded
    by TRAFFIC_SECONDS; stops once service is back for SETTLE_SECONDS."""
    hops, killed, recovered = [], None, None
    t0 = time.monotonic()
    while time.monotonic() - t0 < TRAFFIC_SECONDS:
        if killed is None and time.monotonic() - t0 > 2:
            cluster.kill_master()
            killed = time.monotonic()
        start = time.monotonic()
        body = phone.dial()
        hops.append((start, time.monotonic() - start, body))
        if killed and body.startswith("END"):
            recovered = None
        elif killed and body.startswith("CON") and any(b.startswith("END") for _, _, b in hops):
            recovered = recovered or start
            if time.monotonic() - recovered > SETTLE_SECONDS:
                break
        time.sleep(0.01)
    return hops


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_hops_and_a_worker_follow_the_promoted_replica(gateway_factory, cluster, tmp_path, capsys):
    # One phone makes the whole stream: its per-minute hop limit is lifted.
    gateway = gateway_factory({"REDIS_SENTINELS": cluster.sentinels, "REDIS_SENTINEL_MASTER": MASTER,
                               "USSD_HOPS_PER_MINUTE": "10000"}, redis_client=None)
    assert gateway.redis.connection_pool.service_name == MASTER  # through Sentinel
    phone = Phone(gateway.http, number="+250788000123")
    register(phone)  # through Sentinel: the master is known to every sentinel by now
    worker = start_worker(cluster, tmp_path / "worker.log")
    try:
        wait_until(lambda: queue_is_watched(gateway.redis), 30, "the worker to start")
        assert gateway.redis.get(profiles.key(phone.number))
        before = cluster.master_address()

        hops = stream(phone, cluster)

        assert cluster.master_address() == ("127.0.0.1", cluster.replica_port), "no promotion"
        assert before == ("127.0.0.1", cluster.master_port)
        ends = [(start, body) for start, _, body in hops if body.startswith("END")]
        assert ends, "the master died but no hop noticed"
        assert all(body.startswith("END Sorry") for _, body in ends), ends[:3]
        back = next(start for start, _, body in hops if start > ends[-1][0] and body.startswith("CON"))
        gap = back - ends[0][0]
        slowest = max(seconds for _, seconds, _ in hops)
        assert slowest < 5, slowest  # no hop hung on the dead master
        assert hops[-1][2].startswith("CON Isoko: Hello Jean Bosco")
        assert gap < 30, gap
        with capsys.disabled():
            print(f"\nsentinel failover: {len(hops)} hops, {len(ends)} polite END, "
                  f"{gap:.1f} s without service, slowest hop {slowest:.2f} s")

        # The worker follows too: a listing's SMS queued after the failover is sent.
        main = phone.dial()
        body = phone.hop(option(main, "Sell goods"))
        body = phone.hop(option(body, "Coffee cherry"))
        while "quantity" not in body:
            body = phone.hop("1")
        phone.walk("50", "700")
        assert "code" in phone.hop("1").lower()

        def sent():
            with gateway.db.session() as s:
                return s.scalars(select(Message.status).where(Message.recipient == phone.number)).all()
        statuses = wait_until(lambda: (lambda st: st if st and all(x == MessageStatus.SENT for x in st)
                                       else None)(sent()), 60, "the worker to send after the failover")
        assert statuses
    finally:
        stop_worker(worker)
