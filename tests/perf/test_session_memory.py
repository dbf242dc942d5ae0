"""Redis memory per live session stays under 1 KB: 2,000 sessions left
mid-journey (record, resume snapshot, hop counter, producer profile),
written by the same store calls a hop makes, on a private server so nobody
else moves `used_memory`. The hop stream's entries are reported apart: the
drain deletes them every 10 s, so the stream grows with the hops of the last
seconds (and is capped at HOPS_MAXLEN), not with the sessions alive."""
from __future__ import annotations


import pytest

from gateway.ussd import profiles
from gateway.ussd.sessions import Record, SessionStore
from tests.ussd.helpers import Phone, option, register

SESSIONS = 2_000
BUDGET = 1024


def journey_record(gateway, phone: Phone) -> Record:
    """A real session's record, a few hops into selling (replies kept)."""
    main = phone.dial()
    body = phone.hop(option(main, "Sell goods"))
    body = phone.hop(option(body, "Coffee cherry"))
    while "quantity" not in body:  # grades, when the product has them
        body = phone.hop("1")
    phone.hop("50")
    return Record.loads(gateway.redis.get(f"isoko:ussd:s:{phone.session}"))


def used(client) -> int:
    return int(client.info("memory")["used_memory"])


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_live_session_costs_redis_under_a_kilobyte(gateway_factory, private_redis, capsys):
    _url, client = private_redis
    gateway = gateway_factory(redis_client=client)
    phone = Phone(gateway.http)
    register(phone)
    record = journey_record(gateway, phone)
    assert record.state and record.replies and record.hops >= 4
    profile = profiles.loads(client.get(profiles.key(phone.number)))
    store = SessionStore(client)
    before = used(client)
    for i in range(SESSIONS):
        session_id, number = f"ATUid_{i:032x}", f"+25078{i:07d}"
        begin = store.begin(session_id, number, "marketplace")
        assert begin.token is not None
        store.finish(session_id, number, record, snapshot={"state": record.state}, keep_snapshot=False,
                     extra=[lambda pipe, n=number: profiles.put(pipe, n, profile)])
    stream = client.memory_usage("isoko:ussd:hops")
    per_session = (used(client) - before - stream) / SESSIONS
    number = f"+25078{0:07d}"
    sizes = {kind: client.memory_usage(key) for kind, key in (
        ("record", f"isoko:ussd:s:ATUid_{0:032x}"), ("snapshot", f"isoko:ussd:r:{number}"),
        ("profile", profiles.key(number)), ("stream", "isoko:ussd:hops"))}
    with capsys.disabled():
        print(f"\nRedis per live session: {per_session:.0f} bytes, hop stream "
              f"{stream / SESSIONS:.0f} bytes a hop "
              f"(record {len(record.dumps())} bytes stored; MEMORY USAGE {sizes})")
    assert per_session <= BUDGET, per_session
