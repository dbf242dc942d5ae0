"""Two app instances (two web processes) sharing Redis and the database:
a publish or rollback through one reaches new sessions on the other at once,
while a session started before it finishes on the version it started with."""
from __future__ import annotations


import pytest
import redis

from gateway.ussd import menustore
from gateway.ussd.sessions import Record
from tests.ussd.helpers import Phone, option, register

SHIPPED = menustore.SHIPPED.joinpath("marketplace.yaml").read_text(encoding="utf-8")


@pytest.fixture
def two(gateway_factory, redis_url):
    """Instances A and B: separate Services (Database engine, Redis client,
    menu cache, USSD service), the same Redis database and SQL database."""
    own_client = redis.Redis.from_url(redis_url)
    a, b = gateway_factory(), gateway_factory(redis_client=own_client)
    assert a.services is not b.services
    assert a.services.menus is not b.services.menus and a.redis is not b.redis
    yield a, b
    own_client.close()


def pinned_version(gw, phone: Phone) -> int:
    """The menu version the phone's current session is pinned to."""
    return Record.loads(gw.redis.get(f"isoko:ussd:s:{phone.session}")).state["ver"]


def publish(gw, source: str) -> int:
    """What the console's publish does: a new version, then the head in Redis."""
    with gw.db.session() as s:
        version = menustore.publish(s, source, created_by="test").version
    gw.services.store.set_head("marketplace", version)
    return version


def test_publish_on_one_instance_is_served_by_the_other(two):
    a, b = two
    register(Phone(a.http, "+250788000001", session="alice"))
    register(Phone(b.http, "+250788000002", session="bob"), name="Bob")
    # A session in flight on B: B has compiled and cached version 1 by now.
    in_flight = Phone(b.http, "+250788000001", session="inflight")
    main = in_flight.dial()
    assert "1. Sell goods" in main
    products = in_flight.hop(option(main, "Sell goods"))

    version = publish(a, SHIPPED.replace("Sell goods", "Sell produce"))
    assert version == 2

    fresh = Phone(b.http, "+250788000002", session="new")
    assert "1. Sell produce" in fresh.dial()  # B's next new session: the new version
    assert pinned_version(b, fresh) == 2
    # The session from before the publish finishes on version 1, on either instance.
    assert in_flight.hop("0") == main
    in_flight.client = a.http
    assert in_flight.hop(option(main, "Sell goods")) == products
    body = in_flight.walk(option(products, "Coffee cherry"), "50", "700", "1")
    assert body.startswith("END Listed!")
    assert pinned_version(a, in_flight) == 1


def test_rollback_on_one_instance_is_served_by_the_other(two):
    a, b = two
    register(Phone(a.http, "+250788000001", session="alice"))
    publish(b, SHIPPED.replace("Sell goods", "Sell produce"))
    assert "Sell produce" in Phone(a.http, "+250788000001", session="v2").dial()
    in_flight = Phone(a.http, "+250788000001", session="inflight")
    main = in_flight.dial()
    with b.db.session() as s:
        menustore.rollback(s, "marketplace", 1)
    b.services.store.set_head("marketplace", 1)
    back = Phone(a.http, "+250788000001", session="v1")
    assert "Sell goods" in back.dial()
    assert pinned_version(a, back) == 1
    in_flight.client = b.http  # still on version 2, on the other instance too
    assert in_flight.hop(option(main, "Sell produce")).startswith("CON What are you selling?")
    assert in_flight.hop("0") == main
    assert pinned_version(b, in_flight) == 2
