"""Two gateway instances (separate Services: engine, Redis client, menu and
product caches) on one Redis and one SQL database, each session's hops
alternating between them: register, sell and buy all complete, and a known
phone's first hop is answered from the profile either instance cached."""
from __future__ import annotations

import itertools

import pytest
import redis
from sqlalchemy import select

from gateway.market.models import Listing
from gateway.orders.models import Order
from gateway.ussd import profiles
from tests.ussd.helpers import Phone, option, register


class Alternating:
    """A test client that sends each request to the next instance in turn."""

    def __init__(self, *clients):
        self._next = itertools.cycle(clients)
        self.served: list[int] = []
        self._ids = {id(c): n for n, c in enumerate(clients)}

    def post(self, *args, **kwargs):
        client = next(self._next)
        self.served.append(self._ids[id(client)])
        return client.post(*args, **kwargs)


@pytest.fixture
def pair(gateway_factory, redis_url):
    own = redis.Redis.from_url(redis_url)
    a, b = gateway_factory(), gateway_factory(redis_client=own)
    assert a.services is not b.services and a.services.ussd.sources is not b.services.ussd.sources
    yield a, b
    own.close()


def test_every_journey_completes_with_hops_alternating_between_instances(pair):
    a, b = pair
    seller_client, buyer_client = Alternating(a.http, b.http), Alternating(b.http, a.http)
    seller = Phone(seller_client, "+250788000001", session="seller")
    assert register(seller, name="Seller", district="Huye").startswith("CON Isoko: Hello Seller")
    assert profiles.loads(a.redis.get(profiles.key(seller.number)))["name"] == "Seller"

    body = seller.hop(option(seller.dial(), "Sell"))
    body = seller.walk(option(body, "Coffee cherry"), "10", "700", "1")
    assert body.startswith("END Listed!"), body

    buyer = Phone(buyer_client, "+250722000002", session="buyer")
    register(buyer, name="Buyer")
    body = buyer.hop(option(buyer.dial(), "Buy"))
    body = buyer.hop(option(body, "Coffee cherry"))
    assert "700 RWF 10 kg Huye" in body, body
    body = buyer.walk(option(body, "700 RWF"), "4")
    assert body.startswith("CON Coffee cherry\n4 kg x 700 RWF"), body
    placed = buyer.hop("1")
    assert placed.startswith("END Order "), placed

    with b.db.session() as s:
        assert s.scalars(select(Listing)).one().quantity == 6
        order = s.scalars(select(Order)).one()
        assert order.quantity == 4
    # Both instances answered hops of both sessions.
    assert set(seller_client.served) == {0, 1} and set(buyer_client.served) == {0, 1}
    # The seller sees the order whichever instance answers the first hop.
    for _ in range(2):
        main = seller.dial()
        assert main.startswith("CON Isoko: Hello Seller"), main
        assert placed.split()[2] in seller.hop(option(main, "My orders"))
