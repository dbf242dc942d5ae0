"""The gateway's own account of USSD sessions: each applied hop is noted in
the hop stream within the hop's second Redis round trip, and the drain folds
the stream into one `ussd_sessions` row per session, merged with the
provider's end-of-session notification whichever comes first."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import fakeredis
import pytest
import redis
from sqlalchemy import event, select

from gateway.core.models import utcnow
from gateway.ussd import events, sessionlog
from gateway.ussd.events import SessionEnded
from gateway.ussd.hop import UssdService
from gateway.ussd.models import UssdSessionLog
from gateway.ussd.sessions import HOPS_STREAM
from tests.conftest import TEST_REDIS_URL
from tests.ussd.helpers import Phone, option, register


def rows(db) -> dict[str, UssdSessionLog]:
    with db.session() as s:
        return {r.session_id: r for r in s.scalars(select(UssdSessionLog))}


def sell(phone: Phone) -> str:
    body = phone.hop(option(phone.dial(), "Sell"))
    return phone.walk(option(body, "Coffee cherry"), "50", "700", "1")


def test_a_journey_through_the_callback_becomes_one_row_per_session(gateway):
    phone = Phone(gateway.http)
    started = utcnow()
    register(phone)  # session #1: registration, left on the main menu (a CON)
    assert sell(phone).startswith("END Listed!")  # session #2
    assert phone.post(phone.text).status_code == 200  # a retransmission: applied once, noted once
    assert gateway.redis.xlen(HOPS_STREAM) == 5 + 6
    with gateway.db.session() as s:
        assert s.scalar(select(UssdSessionLog.session_id)) is None  # nothing in SQL until the drain
    assert sessionlog.drain(gateway.redis, gateway.db) == 11
    assert gateway.redis.xlen(HOPS_STREAM) == 0
    found = rows(gateway.db)
    first, second = found["s1#1"], found["s1#2"]
    assert (first.hop_count, first.last_hop, first.last_screen, first.language) == (5, "continue", "main", "en")
    assert (second.hop_count, second.last_hop, second.last_screen) == (6, "end", "sell_done")
    assert started - timedelta(seconds=1) <= first.started_at <= first.last_hop_at <= second.started_at
    assert second.status is None and second.phone is None  # no provider notification; no number stored
    assert sessionlog.drain(gateway.redis, gateway.db) == 0  # nothing left: a second run is a no-op


def test_the_provider_notification_adds_cost_and_status_to_the_same_row_in_either_order(gateway):
    phone = Phone(gateway.http, session="early")
    register(phone)
    sessionlog.drain(gateway.redis, gateway.db)
    with gateway.db.session() as s:  # after the drain
        events.record(s, SessionEnded(session_id="early#1", status="Incomplete", cost="RWF 12.0000",
                                      hops=6), last_screen=None)
    late = Phone(gateway.http, session="late", number="+250788000009")
    late.dial()
    with gateway.db.session() as s:  # before the drain
        events.record(s, SessionEnded(session_id="late#1", status="Failed", cost="RWF 2.0000"),
                      last_screen="language")
    sessionlog.drain(gateway.redis, gateway.db)
    found = rows(gateway.db)
    early, late_row = found["early#1"], found["late#1"]
    assert (early.status, early.cost, early.hops) == ("Incomplete", "RWF 12.0000", 6)
    assert (early.hop_count, early.last_hop, early.last_screen) == (5, "continue", "main")
    assert (late_row.status, late_row.cost) == ("Failed", "RWF 2.0000")
    assert (late_row.hop_count, late_row.last_hop, late_row.last_screen) == (1, "continue", "language")
    assert late_row.started_at is not None


def test_the_merge_keeps_the_first_start_and_the_latest_hop_whatever_the_order(database):
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)

    def seen(n, minutes, screen, hop="continue"):
        at = t0 + timedelta(minutes=minutes)
        return sessionlog.Seen("s", at, at, n, hop, screen, "rw")

    for batch in ([seen(3, 2, "sell_price")], [seen(1, 0, "main")], [seen(4, 3, "sell_done", "end")],
                  [seen(2, 1, "sell_product")], [seen(4, 3, "sell_done", "end")]):
        with database.session() as s:
            sessionlog.upsert(s, batch)
    row = rows(database)["s"]
    assert (row.started_at, row.last_hop_at) == (t0, t0 + timedelta(minutes=3))
    assert (row.hop_count, row.last_hop, row.last_screen) == (4, "end", "sell_done")


def test_unreadable_entries_are_skipped_and_deleted(redis_client, database, caplog):
    redis_client.xadd(HOPS_STREAM, {"junk": "1"})
    redis_client.xadd(HOPS_STREAM, {"s": "ok", "t": "1767225600.5", "scr": "main", "o": "c", "n": "1", "l": "en"})
    assert sessionlog.drain(redis_client, database) == 2
    assert list(rows(database)) == ["ok"] and redis_client.xlen(HOPS_STREAM) == 0
    assert "1 unreadable entries skipped" in caplog.text


def test_a_failed_hop_is_noted_as_an_error(gateway, monkeypatch):
    def broken(self, *args):
        raise RuntimeError("boom")

    monkeypatch.setattr(UssdService, "_turn", broken)
    assert Phone(gateway.http, session="bad").dial().startswith("END ")
    sessionlog.drain(gateway.redis, gateway.db)
    assert rows(gateway.db)["bad#1"].last_hop == "error"


def test_the_drain_works_in_batches(gateway, monkeypatch):
    for i in range(5):
        Phone(gateway.http, session=f"p{i}", number=f"+25078800010{i}").dial()
    assert sessionlog.drain(gateway.redis, gateway.db, batch=2, max_batches=2) == 4  # bounded per run
    assert gateway.redis.xlen(HOPS_STREAM) == 1
    assert sessionlog.drain(gateway.redis, gateway.db, batch=2) == 1
    assert len(rows(gateway.db)) == 5


def test_the_embedded_store_supports_the_stream(gateway_factory):
    gw = gateway_factory(redis_client=fakeredis.FakeRedis(server=fakeredis.FakeServer()))
    phone = Phone(gw.http)
    register(phone)
    assert sessionlog.drain(gw.redis, gw.db) == 5
    assert rows(gw.db)["s1#1"].hop_count == 5


class CountingConnection(redis.Connection):
    """Counts writes to the socket: one per round trip (a pipeline is one)."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


@pytest.fixture
def counted(gateway_factory, redis_client):
    pool = redis.ConnectionPool.from_url(TEST_REDIS_URL, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    gw = gateway_factory(redis_client=client)
    statements = []
    event.listen(gw.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    yield gw, statements
    client.close()


def test_a_navigation_hop_is_two_redis_round_trips_and_no_sql(counted):
    gw, statements = counted
    phone = Phone(gw.http, session="nav")
    body = phone.dial()  # the first hop looks the caller up (SQL), as before
    for answer in (option(body, "English"), "Jean Bosco"):
        CountingConnection.sent, statements[:] = 0, []
        phone.hop(answer)  # language -> name -> district: navigation, noted in the stream
        assert CountingConnection.sent == 2
        if answer != "Jean Bosco":  # the district list is read from SQL once, then cached in process
            assert statements == []
    assert gw.redis.xlen(HOPS_STREAM) == 3
