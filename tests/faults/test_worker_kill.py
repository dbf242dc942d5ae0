"""SIGKILL a real `gateway worker` mid-send, restart it: every message
reaches the loopback provider once, and the ones it delivered while the
worker died are settled by their delivery reports, never marked failed.

Everything runs on a private redis-server (its own port) and the PostgreSQL
test schema; the provider is the loopback simulator, answering in 0.3 s so
sends are in flight when the worker dies, and posting a delivery report for
every message it takes to the gateway's web app served on loopback.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from gateway.core import jobs as context
from gateway.core.models import Language
from gateway.core.settings import Settings
from gateway.sms import queue as queues
from gateway.sms import sweep
from gateway.sms.models import Message, MessageStatus
from gateway.web.app import create_app
from gateway.web.services import build_services
from tests.conftest import TEST_PG_URL
from tests.sim import ProviderSimulator
from tests.sim.fixtures import API_KEY, USERNAME, restore_signals, wait_for  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
TOKEN = "fault-test-callback-token-0123456789"
SECRET = "fault-test-secret-key-0123456789abcdef"
MESSAGES = 40
CONCURRENCY = 4
# One send: 3.05 s connect + 2 s read; the lease must outlive it.
WORKER_SMS = {"SMS_CONCURRENCY": str(CONCURRENCY), "SMS_READ_TIMEOUT_SECONDS": "2",
              "SMS_LEASE_SECONDS": "6", "SMS_UNKNOWN_WAIT_SECONDS": "120"}


def start_worker(redis_url: str, sim: ProviderSimulator, log: Path) -> subprocess.Popen:
    """`gateway worker`, the project's command, in a session of its own (so
    SIGKILL reaches its work horse too, as when a machine dies)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AT_", "SMS_", "CALLBACK"))}
    env.update({"DATABASE_URL": TEST_PG_URL, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
                "AT_USERNAME": USERNAME, "AT_API_KEY": API_KEY, "AT_API_URL": sim.url,
                "AT_SENDER_ID": "ISOKO", "LOG_LEVEL": "WARNING", **WORKER_SMS})
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-c", "from gateway.cli import main; main()", "worker"],
                                env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (RQ's work horse puts itself in a
    session of its own, so killing the worker's group would miss it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def kill(worker: subprocess.Popen) -> int:
    """SIGKILL the worker and its work horse at once, as when the machine
    dies; returns how many processes were killed."""
    victims = [*children(worker.pid), worker.pid]
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(timeout=10)
    return len(victims)


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)  # RQ's warm shutdown
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(worker)


@pytest.fixture
def web(pg_database, private_redis):
    """The gateway's web app on loopback (for the provider's delivery reports)."""
    url, client = private_redis
    settings = Settings.from_env({"DATABASE_URL": TEST_PG_URL, "REDIS_URL": url, "CALLBACK_TOKEN": TOKEN,
                                  "SECRET_KEY": SECRET}, mode="web")
    services = build_services(settings, redis_client=client)
    server = make_server("127.0.0.1", 0, create_app(services=services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/at/sms/delivery?token={TOKEN}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        services.db.dispose()


def statuses(db) -> Counter:
    with db.session() as s:
        return Counter({status: n for status, n in s.execute(
            select(Message.status, func.count()).group_by(Message.status))})


def test_a_worker_killed_mid_send_loses_nothing_and_delivered_ones_are_not_failed(
        pg_database, private_redis, web, tmp_path, restore_signals, monkeypatch):
    redis_url, client = private_redis
    db = pg_database
    texts = {}
    with db.session() as s:
        for i in range(MESSAGES):
            message = Message(recipient=f"+2507881{i:05d}", text=f"Isoko: crash test {i}",
                              language=Language.EN, kind="listing_receipt", status=MessageStatus.QUEUED)
            s.add(message)
            s.flush()
            texts[message.id] = message.text
    log = tmp_path / "worker.log"
    with ProviderSimulator(USERNAME, API_KEY, delay=0.3) as sim:
        sim.report_url, sim.report_delay = web, 0.2
        for message_id in texts:
            queues.enqueue_sms(client, message_id)
        worker = start_worker(redis_url, sim, log)
        restarted = None
        try:
            # Mid-send: some taken, every sending slot busy at the provider.
            assert wait_for(lambda: len(sim.received()) >= 8 and sim.in_flight() == CONCURRENCY,
                            timeout=60), log.read_text()
            assert kill(worker) >= 2  # the worker, the horse running the drain (and RQ's scheduler)
            killed_at = time.monotonic()
            in_flight = statuses(db)[MessageStatus.SENDING]
            assert 1 <= in_flight <= CONCURRENCY
            time.sleep(0.5)  # the provider finishes what it was answering
            arrived = sim.arrivals

            restarted = start_worker(redis_url, sim, log)
            # The drain starts once the worker is up (its imports take seconds on a busy
            # machine), not when the dead worker's wake flag expires (~27 s after the kill).
            assert wait_for(lambda: sim.arrivals > arrived, timeout=20), log.read_text()
            restart_delay = time.monotonic() - killed_at - 0.5
            assert wait_for(lambda: len({m.text for m in sim.received()}) == MESSAGES, timeout=60), \
                log.read_text()

            # The sweep (a periodic job; run here rather than waiting its minute)
            # settles the rows the dead worker left once their lease has run out.
            settings = Settings(database_url=TEST_PG_URL, redis_url=redis_url)
            context.configure(TEST_PG_URL, settings=settings,
                              sms=Settings.from_env({**WORKER_SMS, "SECRET_KEY": SECRET}, mode="worker").sms)
            monkeypatch.setattr(context, "redis", lambda: client)  # as inside the sweep's job
            try:
                def settled() -> bool:
                    sweep.sweep()
                    with db.session() as s:
                        unreported = s.scalar(select(func.count()).where(Message.delivery_status.is_(None)))
                    return statuses(db) == Counter({MessageStatus.SENT: MESSAGES}) and not unreported
                assert wait_for(settled, timeout=30), statuses(db)
            finally:
                context.reset()
        finally:
            stop(worker)
            if restarted is not None:
                stop(restarted)
        taken = Counter(m.text for m in sim.received())
    lost = [t for t in texts.values() if taken[t] == 0]
    duplicated = {t: n for t, n in taken.items() if n > 1}
    print(f"\nworker SIGKILL: {MESSAGES} messages, {in_flight} in flight at the kill, drain restarted "
          f"{restart_delay:.1f} s after; lost {len(lost)}, duplicated {len(duplicated)}")
    assert lost == [] and duplicated == {}
    with db.session() as s:
        rows = s.scalars(select(Message)).all()
        assert {m.delivery_status for m in rows} == {"Success"}  # every report applied
        assert not [m.id for m in rows if m.status in (MessageStatus.FAILED, MessageStatus.REVIEW)]
        settled_by_report = [m for m in rows if (m.error or "").startswith("settled by a delivery report")]
    assert len(settled_by_report) == in_flight, [(m.id, m.status, m.error, m.attempts) for m in rows]  # the delivered-while-dying ones, not failed
