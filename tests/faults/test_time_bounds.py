"""Every hop is answered within USSD_HOP_BUDGET_SECONDS and `/healthz`
within 1 s, while the gateway's own Redis or PostgreSQL is stopped or frozen
(SIGSTOP) under a stream of hops; when the server is back, journeys
complete by themselves and nothing is half-written.

Everything runs on private servers (tests/faults/conftest.py: their own
ports and directories), the gateway's web app served on loopback by a real
HTTP server, and clients that time each request from outside. A journey is
a new phone's registration (language, name, district, consent): its last
hop creates the producer in SQL and answers "Hello <name>".
"""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from gateway.core.bounds import TimeBounds
from gateway.core.settings import Settings
from gateway.market.models import Producer
from gateway.ussd import budget
from gateway.ussd.hop import SORRY
from gateway.web.app import create_app
from gateway.web.services import bootstrap, build_services
from tests.ussd.helpers import check_reply

BUDGET = 5  # the default USSD_HOP_BUDGET_SECONDS
CLIENTS = 4  # journeys in flight at once
HANG = 15  # a request not answered in this long counts as unanswered
HEALTH_LIMIT = 1.0
POLITE = {"END " + text for text in (*budget.TIMED_OUT.values(), *SORRY.values())}


@dataclass
class Figures:
    """What a scenario measured, from the clients' side."""

    hops: list[tuple[float, str]] = field(default_factory=list)  # (seconds, reply or "")
    health: list[tuple[float, int]] = field(default_factory=list)  # (seconds, status)
    completed: set[str] = field(default_factory=set)  # phones whose journey ended registered
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> dict:
        answered = [s for s, reply in self.hops if reply and s <= BUDGET]
        return {"hops": len(self.hops), "within_budget": len(answered),
                "max_latency_s": round(max(s for s, _ in self.hops), 2),
                "polite_ends": sum(reply in POLITE for _, reply in self.hops),
                "journeys_completed": len(self.completed),
                "healthz": len(self.health), "healthz_max_s": round(max(s for s, _ in self.health), 2),
                "healthz_503": sum(status == 503 for _, status in self.health)}


class Stack:
    """The gateway on the private servers, served on a loopback port."""

    def __init__(self, pg, redis_server):
        settings = Settings(database_url=pg.url, redis_url=redis_server.url,
                            bounds=TimeBounds(hop_budget_seconds=BUDGET))
        self.services = build_services(settings)
        bootstrap(self.services)
        self.server = make_server("127.0.0.1", 0, create_app(services=self.services), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.services.hops.shutdown()
        self.services.db.dispose()

    def hop(self, session: str, phone: str, text: str) -> tuple[float, str]:
        """(seconds, reply) of one hop; reply "" when no 200 came within HANG."""
        body = urlencode({"sessionId": session, "phoneNumber": phone, "serviceCode": "*384*7#",
                          "networkCode": "63510", "text": text}).encode()
        started = time.monotonic()
        try:
            with urllib.request.urlopen(self.url + "/at/ussd", data=body, timeout=HANG) as answer:
                reply = answer.read().decode() if answer.status == 200 else ""
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            reply = ""
        return time.monotonic() - started, reply

    def health(self) -> tuple[float, int]:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=HANG) as answer:
                status = answer.status
        except urllib.error.HTTPError as refused:
            status = refused.code
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            status = 0
        return time.monotonic() - started, status


def journey(stack: Stack, phone: str, figures: Figures) -> None:
    """One registration; stops at the first END (the user would hang up)."""
    session = f"ATUid_{phone[-7:]}_{time.monotonic_ns()}"
    name = f"Ada {phone[-4:]}"
    for text in ("", "2", f"2*{name}", f"2*{name}*1", f"2*{name}*1*1"):
        seconds, reply = stack.hop(session, phone, text)
        with figures.lock:
            figures.hops.append((seconds, reply))
        if not reply or reply.startswith("END "):
            return
    if f"Hello {name}" in reply:
        with figures.lock:
            figures.completed.add(phone)


def traffic(stack: Stack, figures: Figures, stop: threading.Event, lane: int) -> None:
    for number in range(10_000):  # bounded; the scenario stops it long before
        if stop.is_set():
            return
        journey(stack, f"+25078{lane}{number:06d}", figures)


def probe_health(stack: Stack, figures: Figures, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        with figures.lock:
            figures.health.append(stack.health())


def run_scenario(stack: Stack, fault, recover, *, before: float, during: float, after: float) -> Figures:
    """Traffic and health probes throughout; `fault()` after `before` s,
    `recover()` `during` s later, then `after` s more of traffic."""
    figures, stop = Figures(), threading.Event()
    threads = [threading.Thread(target=traffic, args=(stack, figures, stop, lane)) for lane in range(CLIENTS)]
    threads.append(threading.Thread(target=probe_health, args=(stack, figures, stop)))
    for thread in threads:
        thread.start()
    try:
        time.sleep(before)
        fault()
        time.sleep(during)
    finally:
        recover()
    time.sleep(after)
    stop.set()
    for thread in threads:
        thread.join(timeout=HANG * 6)
    assert not any(thread.is_alive() for thread in threads)
    return figures


def assert_bounded(figures: Figures) -> dict:
    summary = figures.summary()
    print("figures:", summary)
    assert summary["hops"] > 0 and summary["within_budget"] == summary["hops"], summary
    assert summary["max_latency_s"] <= BUDGET, summary
    for _, reply in figures.hops:
        check_reply(reply)  # CON/END, GSM-7, fits the screen
    assert summary["healthz_max_s"] <= HEALTH_LIMIT, summary
    return summary


def assert_recovered(stack: Stack, figures: Figures) -> None:
    """A journey started now completes (retried for a few seconds at most:
    the pools reconnect on their own), and every producer is whole."""
    fresh = Figures()
    for attempt in range(10):
        journey(stack, f"+250789{attempt:06d}", fresh)
        if fresh.completed:
            break
        time.sleep(1)
    assert fresh.completed, fresh.summary()
    assert stack.health()[1] == 200
    with stack.services.db.session() as s:
        producers = {p.phone: p for p in s.scalars(select(Producer))}
    assert figures.completed | fresh.completed <= set(producers)
    assert all(p.name and p.district_id for p in producers.values())  # no half-written row


@pytest.fixture
def stack(private_pg, private_redis_server):
    built = Stack(private_pg, private_redis_server)
    yield built
    built.close()


def test_redis_stopped_mid_traffic(stack, private_redis_server):
    figures = run_scenario(stack, private_redis_server.stop, private_redis_server.start,
                           before=2, during=6, after=3)
    summary = assert_bounded(figures)
    assert summary["polite_ends"] > 0 and summary["healthz_503"] > 0, summary
    # The restarted Redis is empty: sessions are lost, the menu head comes back from SQL.
    assert_recovered(stack, figures)


def test_redis_frozen_mid_traffic(stack, private_redis_server):
    figures = run_scenario(stack, private_redis_server.freeze, private_redis_server.thaw,
                           before=2, during=8, after=3)
    summary = assert_bounded(figures)
    assert summary["polite_ends"] > 0 and summary["healthz_503"] > 0, summary
    assert_recovered(stack, figures)


def test_postgresql_frozen_for_15_seconds(stack, private_pg):
    figures = run_scenario(stack, private_pg.freeze, private_pg.thaw, before=2, during=15, after=4)
    summary = assert_bounded(figures)
    assert summary["polite_ends"] > 0 and summary["healthz_503"] > 0, summary
    assert_recovered(stack, figures)


def test_postgresql_stopped_mid_traffic(stack, private_pg):
    figures = run_scenario(stack, private_pg.stop, private_pg.start, before=2, during=6, after=3)
    summary = assert_bounded(figures)
    assert summary["polite_ends"] > 0 and summary["healthz_503"] > 0, summary
    assert_recovered(stack, figures)
