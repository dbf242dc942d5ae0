"""The whole market loop on real Redis and SQL, SMS through the real
africastalking SDK to the loopback provider: list → order → the seller's SMS
carries the dial string → the seller accepts by USSD → the buyer's SMS.
Once by USSD, once through the buyer API."""
from __future__ import annotations

import re

import pytest

from gateway.api import keys as apikeys
from tests.sim import ProviderSimulator
from tests.ussd.helpers import Phone, option, register
from gateway.core import jobs as context
from gateway.worker import runner

SELLER, BUYER, PLATFORM_BUYER = "+250788000001", "+250722000002", "+250733000004"
API_KEY = "e2e-test-api-key"


@pytest.fixture
def market(gateway_factory, database):
    """The gateway wired to the simulator, and a way to run the workers once."""
    with ProviderSimulator(username="isoko", api_key=API_KEY) as sim:
        gw = gateway_factory(env={"AT_USERNAME": "isoko", "AT_API_KEY": API_KEY,
                                  "AT_API_URL": sim.url, "AT_SENDER_ID": "ISOKO"})
        context.configure(database.url.render_as_string(hide_password=False), settings=gw.services.settings)
        worker = runner.make_worker(gw.redis)

        def deliver() -> None:
            worker.work(burst=True)

        yield gw, sim, deliver
        context.reset()


def _texts(sim, phone: str) -> list[str]:
    return [m.text for m in sim.received(to=phone)]


def _list_coffee(gw, deliver, sim) -> Phone:
    seller = Phone(gw.http, SELLER, session="seller")
    register(seller, name="Seller", district="Huye")
    body = seller.hop(option(seller.dial(), "Sell"))
    assert seller.walk(option(body, "Coffee cherry"), "10", "700", "1").startswith("END Listed!")
    deliver()
    assert any("listing" in t and "saved" in t for t in _texts(sim, SELLER))
    return seller


def _seller_answers_from_the_sms(gw, deliver, sim) -> str:
    """The seller dials exactly what the order SMS says, and accepts."""
    order_sms = [t for t in _texts(sim, SELLER) if "new order" in t][-1]
    dial = re.search(r"Dial (\*384\*7\*\d+#)", order_sms).group(1)
    code = dial.strip("#").rsplit("*", 1)[1]
    phone = Phone(gw.http, SELLER, session="answer", code=dial)
    body = phone.dial()
    assert body.startswith(f"CON Order {code}:")
    assert phone.hop(option(body, "Accept")) == f"END Order {code} accepted. The buyer is told by SMS."
    deliver()
    return code


def test_order_by_ussd_then_accept_by_ussd_tells_both_by_sms(market):
    gw, sim, deliver = market
    _list_coffee(gw, deliver, sim)
    buyer = Phone(gw.http, BUYER, session="buyer")
    register(buyer, name="Buyer")
    deliver()
    body = buyer.hop(option(buyer.dial(), "Buy"))
    body = buyer.walk(option(body, "Coffee cherry"), "1", "4")
    placed = buyer.hop("1")
    assert placed.startswith("END Order ")
    deliver()
    code = _seller_answers_from_the_sms(gw, deliver, sim)
    assert f"*384*7*{code}#" in _texts(sim, SELLER)[-1]
    told = _texts(sim, BUYER)
    assert len(told) == 1 and f"your order {code}" in told[0] and "accepted" in told[0]
    assert all(m.sender == "ISOKO" for m in sim.received())


def test_order_through_the_api_then_accept_by_ussd(market):
    gw, sim, deliver = market
    _list_coffee(gw, deliver, sim)
    with gw.db.session() as s:
        _, token = apikeys.create(s, "platform")
    listing = gw.http.get("/api/v1/listings?product=coffee_cherry",
                          headers={"Authorization": f"Bearer {token}"}).get_json()["data"][0]
    payload = {"listing": listing["code"], "quantity": 3, "buyer": {"name": "Kigali Roasters",
                                                                      "phone": PLATFORM_BUYER}}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "order-1"}
    first = gw.http.post("/api/v1/orders", json=payload, headers=headers)
    again = gw.http.post("/api/v1/orders", json=payload, headers=headers)
    assert first.status_code == 201 and again.status_code == 201  # a replay answers alike
    assert first.get_json()["code"] == again.get_json()["code"]
    deliver()
    assert sum("new order" in t for t in _texts(sim, SELLER)) == 1  # the repeat sent nothing
    code = _seller_answers_from_the_sms(gw, deliver, sim)
    assert code == first.get_json()["code"]
    state = gw.http.get(f"/api/v1/orders/{code}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert state["status"] == "accepted"
    assert [e["status"] for e in state["history"]] == ["pending", "accepted"]
    assert any("accepted" in t for t in _texts(sim, PLATFORM_BUYER))


def test_unanswered_order_expires_through_the_periodic_task(market):
    from datetime import timedelta

    from sqlalchemy import select

    from gateway.orders import service as orders
    from gateway.market.models import Listing, Producer
    from gateway.orders.models import Order
    from gateway.worker import periodic

    gw, sim, deliver = market
    _list_coffee(gw, deliver, sim)
    with gw.db.session() as s:
        listing = s.scalars(select(Listing)).one()
        buyer = Producer(phone=BUYER, name="Buyer", district_id=1, language="en",
                         consented_at=listing.created_at)
        s.add(buyer)
        s.flush()
        orders.place_order(s, listing_id=listing.id, quantity=4, buyer_id=buyer.id,
                           ttl=timedelta(seconds=-1))  # already due
    assert "gateway.orders.jobs.expire_orders" in periodic.tick(gw.redis)
    deliver()  # runs the expiry, then the drain sends both SMS
    deliver()
    with gw.db.session() as s:
        assert s.scalars(select(Order)).one().status == "expired"
        assert s.scalars(select(Listing)).one().quantity == 10
    assert any("expired" in t for t in _texts(sim, SELLER))
    assert any("did not answer" in t for t in _texts(sim, BUYER))
