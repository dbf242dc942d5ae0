"""The whole market loop on real Redis and SQL, SMS through the real
africastalking SDK to the loopback provider: list → order → the seller's SMS
carries the dial string → the seller accepts by USSD → the buyer's SMS.
Once by USSD, once through the buyer API."""
from __future__ import annotations

import re

import pytest

from gateway.api import keys as apikeys
from gateway.orders import service as orders_service
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


def test_order_by_ussd_accept_meet_and_hand_over_with_the_delivery_code(market):
    """Issue 9's acceptance: USSD order → accept → both sides' SMS carry each
    other's name and number → the delivery code → delivered, both told."""
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
    to_seller = _texts(sim, SELLER)[-1]
    assert f"accepted order {code}" in to_seller and "Buyer" in to_seller and BUYER in to_seller
    told = _texts(sim, BUYER)
    met = next(t for t in told if f"order {code} accepted" in t)
    assert "Seller" in met and SELLER in met and "Huye" in met
    delivery_code = re.search(r"delivery code for order \d+ is (\d{4})", " ".join(told)).group(1)
    assert all(m.sender == "ISOKO" for m in sim.received())

    # The buyer's screen of the order shows the seller; the seller's the buyer.
    looking = Phone(gw.http, BUYER, session="buyer-looks")
    body = looking.hop(option(looking.dial(), "My orders"))
    body = looking.hop(option(body, code))
    assert "Seller: Seller" in body and SELLER in body and "Huye" in body

    # At handover: My orders → the order → Delivered → a wrong code, then the right one.
    seller = Phone(gw.http, SELLER, session="handover")
    body = seller.hop(option(seller.dial(), "My orders"))
    body = seller.hop(option(body, code))
    assert "Buyer: Buyer" in body and BUYER in body
    body = seller.hop(option(body, "Delivered"))
    assert "4-digit delivery code" in body
    wrong = "0000" if delivery_code != "0000" else "1111"
    assert "Wrong code. Tries left: 2." in seller.hop(wrong)
    assert seller.hop(delivery_code) == f"END Order {code} delivered. You both get an SMS."
    deliver()
    assert f"order {code}" in _texts(sim, SELLER)[-1] and "is delivered" in _texts(sim, SELLER)[-1]
    assert "is delivered" in _texts(sim, BUYER)[-1]
    with gw.db.session() as s:
        order = orders_service.by_code(s, code)
        assert order.status == "delivered"
        assert [e.status for e in order.events] == ["pending", "accepted", "delivered"]
        assert delivery_code not in (order.delivery_code_hash or "")


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


def test_an_accepted_order_not_delivered_in_time_goes_overdue_through_the_periodic_task(market):
    from datetime import timedelta

    from sqlalchemy import select

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
        order, _ = orders_service.place_order(s, listing_id=listing.id, quantity=4, buyer_id=buyer.id)
        orders_service.answer_order(s, seller_id=listing.producer_id, code=order.code, accept=True)
        order.answered_at -= timedelta(days=gw.services.settings.delivery_days, minutes=1)
    assert "gateway.orders.jobs.mark_overdue_orders" in periodic.tick(gw.redis)
    deliver()
    with gw.db.session() as s:
        order = s.scalars(select(Order)).one()
        assert order.status == "overdue"
        assert [e.status for e in order.events] == ["pending", "accepted", "overdue"]
