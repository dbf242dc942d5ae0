"""gateway.ussd.events without HTTP: the last screen from Redis and the
upsert, on each SQL backend (the route is
tests/channels/africastalking/test_ussd_events.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from gateway.ussd import events
from gateway.ussd.events import SessionEnded
from gateway.ussd.models import UssdSessionLog
from gateway.ussd.sessions import PREFIX, Record

RECEIVED = datetime(2025, 3, 1, 9, 31, tzinfo=timezone.utc)


def rows(database) -> list[UssdSessionLog]:
    with database.session() as s:
        return list(s.scalars(select(UssdSessionLog)))


def test_last_screen_reads_the_session_record(redis_client):
    redis_client.set(f"{PREFIX}:s:live", Record(state={"scr": "sell_price"}).dumps())
    redis_client.set(f"{PREFIX}:s:long", Record(state={"scr": "x" * 100}).dumps())
    redis_client.set(f"{PREFIX}:s:garbage", b"not json")
    assert events.last_screen(redis_client, "live") == "sell_price"
    assert events.last_screen(redis_client, "long") == "x" * events.SCREEN_MAX
    assert events.last_screen(redis_client, "garbage") is None
    assert events.last_screen(redis_client, "gone") is None


def test_last_screen_with_redis_down_is_none():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    assert events.last_screen(dead, "any") is None
    dead.close()


def test_record_upserts_and_a_repeat_without_a_screen_keeps_it(database):
    first = SessionEnded(session_id="ATUid_1", status="Incomplete", phone="+250788000001", hops=3)
    with database.session() as s:
        events.record(s, first, last_screen="sell_price", received_at=RECEIVED)
    repeat = SessionEnded(session_id="ATUid_1", status="Failed", hops=4, error="timeout")
    with database.session() as s:
        events.record(s, repeat, last_screen=None)
    [row] = rows(database)
    assert (row.status, row.hops, row.error, row.last_screen) == ("Failed", 4, "timeout", "sell_price")
    assert row.phone is None  # a repeat says what the provider sent this time
    assert row.received_at > RECEIVED


def test_record_keeps_an_unknown_status(database, caplog):
    with database.session() as s:
        events.record(s, SessionEnded(session_id="ATUid_2", status="Expired"), last_screen=None)
    assert rows(database)[0].status == "Expired"
    assert "unknown status 'Expired'" in caplog.text
