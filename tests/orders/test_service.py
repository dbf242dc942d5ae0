"""The order service on SQLite and PostgreSQL: reservation, races, answers,
expiry, idempotency, history."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.orders import service as orders
from gateway.market.service import NotFound
from gateway.market.models import Listing, ListingStatus
from gateway.sms.models import Message
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.core.models import utcnow
from tests.market.test_service import OTHER_PHONE, new_listing, register

BUYER_PHONE = "+250733000003"


@pytest.fixture
def market(database):
    """A seller with 10 kg of coffee cherry at 700 RWF, and a buyer."""
    with database.session() as s:
        seller = register(s, language="rw", name="Seller")
        buyer = register(s, phone=OTHER_PHONE, language="fr", name="Buyer")
        listing, _ = new_listing(s, seller, quantity=10, price=700)
        ids = {"seller": seller.id, "buyer": buyer.id, "listing": listing.id}
    return database, ids


def test_an_order_reserves_stock_and_tells_the_seller_how_to_answer(market):
    db, ids = market
    with db.session() as s:
        order, messages = orders.place_order(s, listing_id=ids["listing"], quantity=4,
                                             buyer_id=ids["buyer"], service_code="*384*7#")
        code = order.code
        assert (order.total, order.status, order.unit_price) == (2800, "pending", 700)
        assert len(messages) == 1 and messages[0].recipient == "+250788000001"
        assert f"*384*7*{code}#" in messages[0].text and messages[0].language == "rw"
    with db.session() as s:
        assert s.get(Listing, ids["listing"]).quantity == 6
        assert [e.status for e in s.scalars(select(OrderEvent))] == ["pending"]


def test_ordering_the_last_stock_sells_the_listing_out(market):
    db, ids = market
    with db.session() as s:
        orders.place_order(s, listing_id=ids["listing"], quantity=10, buyer_id=ids["buyer"])
    with db.session() as s:
        listing = s.get(Listing, ids["listing"])
        assert (listing.quantity, listing.status) == (0, ListingStatus.SOLD_OUT)
        with pytest.raises(NotFound):
            orders.place_order(s, listing_id=ids["listing"], quantity=1, buyer_id=ids["buyer"])


def test_more_than_available_is_refused_with_what_is_left(market):
    db, ids = market
    with db.session() as s, pytest.raises(orders.OutOfStock) as caught:
        orders.place_order(s, listing_id=ids["listing"], quantity=11, buyer_id=ids["buyer"])
    assert caught.value.available == 10


def test_a_seller_cannot_order_their_own_listing(market):
    db, ids = market
    with db.session() as s, pytest.raises(orders.MarketError) as caught:
        orders.place_order(s, listing_id=ids["listing"], quantity=1, buyer_id=ids["seller"])
    assert caught.value.code == "own_listing"


def test_two_buyers_racing_for_the_last_10_kg_exactly_one_wins(market):
    db, ids = market
    barrier = threading.Barrier(2)
    results: list[str] = []

    def buy(phone_suffix: int) -> None:
        try:
            with db.session() as s:
                barrier.wait(timeout=10)
                orders.place_order(s, listing_id=ids["listing"], quantity=10,
                                   buyer_phone=f"+25073300000{phone_suffix}", channel="api")
            results.append("won")
        except orders.OutOfStock:
            results.append("out")
        except NotFound:
            results.append("out")  # already sold out when it looked

    threads = [threading.Thread(target=buy, args=(n,)) for n in (4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["out", "won"]
    with db.session() as s:
        assert s.scalar(select(func.count(Order.id))) == 1
        assert s.get(Listing, ids["listing"]).quantity == 0


def test_the_same_idempotency_key_never_makes_two_orders(market):
    db, ids = market
    with db.session() as s:
        first, messages = orders.place_order(s, listing_id=ids["listing"], quantity=2,
                                             buyer_phone=BUYER_PHONE, idem_key="api:1:abc", channel="api")
        again, none = orders.place_order(s, listing_id=ids["listing"], quantity=2,
                                         buyer_phone=BUYER_PHONE, idem_key="api:1:abc", channel="api")
        assert again.id == first.id and none == [] and len(messages) == 1
    with db.session() as s:
        assert s.get(Listing, ids["listing"]).quantity == 8


def test_accepting_tells_the_buyer_and_is_final(market):
    db, ids = market
    with db.session() as s:
        order, _ = orders.place_order(s, listing_id=ids["listing"], quantity=3, buyer_id=ids["buyer"])
        code = order.code
    with db.session() as s:
        order, messages = orders.answer_order(s, seller_id=ids["seller"], code=code, accept=True)
        assert order.status == OrderStatus.ACCEPTED and order.answered_at is not None
        assert messages[0].recipient == OTHER_PHONE and messages[0].language == "fr"
        assert "acceptée" in messages[0].text
    with db.session() as s, pytest.raises(orders.OrderClosed):
        orders.answer_order(s, seller_id=ids["seller"], code=code, accept=False)
    with db.session() as s:
        assert s.get(Listing, ids["listing"]).quantity == 7
        assert [e.status for e in s.scalars(select(OrderEvent).order_by(OrderEvent.id))] == [
            "pending", "accepted"]


def test_rejecting_gives_the_stock_back_and_reopens_a_sold_out_listing(market):
    db, ids = market
    with db.session() as s:
        order, _ = orders.place_order(s, listing_id=ids["listing"], quantity=10, buyer_id=ids["buyer"])
        code = order.code
    with db.session() as s:
        _, messages = orders.answer_order(s, seller_id=ids["seller"], code=code, accept=False)
        assert "refusée" in messages[0].text
    with db.session() as s:
        listing = s.get(Listing, ids["listing"])
        assert (listing.quantity, listing.status) == (10, ListingStatus.ACTIVE)


def test_a_seller_can_reach_only_their_own_orders(market):
    db, ids = market
    with db.session() as s:
        order, _ = orders.place_order(s, listing_id=ids["listing"], quantity=1, buyer_id=ids["buyer"])
        code = order.code
    with db.session() as s:
        for seller_id, wanted in ((ids["buyer"], code), (ids["seller"], "999999"), (ids["seller"], "x")):
            with pytest.raises(NotFound):
                orders.answer_order(s, seller_id=seller_id, code=wanted, accept=True)
        assert s.scalars(select(Order)).one().status == "pending"


def test_unanswered_orders_expire_and_both_sides_are_told(market):
    db, ids = market
    with db.session() as s:
        due, _ = orders.place_order(s, listing_id=ids["listing"], quantity=4, buyer_id=ids["buyer"],
                                    ttl=timedelta(minutes=5))
        fresh, _ = orders.place_order(s, listing_id=ids["listing"], quantity=1, buyer_id=ids["buyer"],
                                      ttl=timedelta(hours=5))
        due_code = due.code
    with db.session() as s:
        count, messages = orders.expire_due(s, now=utcnow() + timedelta(minutes=6))
        assert count == 1
        assert sorted(m.kind for m in messages) == ["order_expired_buyer", "order_expired_seller"]
    with db.session() as s:
        assert orders.by_code(s, due_code).status == OrderStatus.EXPIRED
        assert s.get(Listing, ids["listing"]).quantity == 9
        # Running it again changes nothing.
        assert orders.expire_due(s, now=utcnow() + timedelta(minutes=6)) == (0, [])
        assert s.scalar(select(func.count(Message.id)).where(Message.kind.like("order_expired%"))) == 2


def test_cancelling_a_pending_order_restocks_and_tells_the_seller(market):
    db, ids = market
    with db.session() as s:
        order, _ = orders.place_order(s, listing_id=ids["listing"], quantity=5, buyer_phone=BUYER_PHONE,
                                      channel="api")
        messages = orders.cancel_order(s, order)
        assert messages[0].kind == "order_cancelled" and order.status == "cancelled"
        with pytest.raises(orders.OrderClosed):
            orders.cancel_order(s, order)
    with db.session() as s:
        assert s.get(Listing, ids["listing"]).quantity == 10


def test_dial_string_carries_the_order_code():
    assert orders.dial_string("*384*7#", "482113") == "*384*7*482113#"


def test_twin_requests_with_one_idempotency_key_reserve_once(market):
    """Two copies of one API request at the same moment: one order, stock
    taken once, even though both passed the first look-up."""
    db, ids = market
    barrier = threading.Barrier(2)
    codes: list[str] = []

    def place() -> None:
        with db.session() as s:
            barrier.wait(timeout=10)
            order, _ = orders.place_order(s, listing_id=ids["listing"], quantity=3,
                                          buyer_phone=BUYER_PHONE, idem_key="api:1:twin", channel="api")
            codes.append(order.code)

    threads = [threading.Thread(target=place) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(codes) == 2 and codes[0] == codes[1]
    with db.session() as s:
        assert s.scalar(select(func.count(Order.id))) == 1
        assert s.get(Listing, ids["listing"]).quantity == 7


def test_an_order_past_its_deadline_cannot_be_accepted_before_the_sweep(market):
    db, ids = market
    with db.session() as s:
        order, _ = orders.place_order(s, listing_id=ids["listing"], quantity=4, buyer_id=ids["buyer"],
                                      ttl=timedelta(minutes=5))
        code = order.code
        order.expires_at = utcnow() - timedelta(seconds=1)  # due, and no sweep has run
    with db.session() as s:
        with pytest.raises(orders.OrderExpired) as caught:
            orders.answer_order(s, seller_id=ids["seller"], code=code, accept=True)
        assert sorted(m.kind for m in caught.value.messages) == ["order_expired_buyer", "order_expired_seller"]
    with db.session() as s:  # the expiry is kept although the answer was refused
        assert orders.by_code(s, code).status == OrderStatus.EXPIRED
        assert s.get(Listing, ids["listing"]).quantity == 10
        assert [e.status for e in s.scalars(select(OrderEvent).order_by(OrderEvent.id))] == [
            "pending", "expired"]
        # The sweep finds nothing left to do, and nobody is told twice.
        assert orders.expire_due(s) == (0, [])
        assert s.scalar(select(func.count(Message.id)).where(Message.kind.like("order_expired%"))) == 2
