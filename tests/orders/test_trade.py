"""After acceptance (issue 9): the two sides meet, the goods change hands with
the buyer's delivery code, and every move follows the one transition table.
On SQLite and PostgreSQL."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.core.models import utcnow
from gateway.orders import lifecycle
from gateway.orders import service as orders
from gateway.orders.models import Order, OrderEvent, OrderStatus
from tests.market.test_service import OTHER_PHONE, new_listing, register

SELLER_PHONE = "+250788000001"


@pytest.fixture
def accepted(database):
    """An order of 4 kg accepted by its seller; the SMS texts it produced."""
    with database.session() as s:
        seller = register(s, language="en", name="Seller Mukamana")
        buyer = register(s, phone=OTHER_PHONE, language="en", name="Buyer Habimana")
        listing, _ = new_listing(s, seller, quantity=10, price=700)
        order, _ = orders.place_order(s, listing_id=listing.id, quantity=4, buyer_id=buyer.id)
        _, messages = orders.answer_order(s, seller_id=seller.id, code=order.code, accept=True)
        sent = [(m.recipient, m.kind, m.text) for m in messages]
        ids = {"seller": seller.id, "buyer": buyer.id, "order": order.id, "code": order.code}
    return database, ids, sent


def _delivery_code(sent) -> str:
    text = next(t for _, kind, t in sent if kind == "delivery_code")
    return re.search(r"is (\d{4})\.", text).group(1)


def test_on_acceptance_both_sides_get_each_others_name_and_number(accepted):
    db, ids, sent = accepted
    to_buyer = {kind: text for phone, kind, text in sent if phone == OTHER_PHONE}
    to_seller = {kind: text for phone, kind, text in sent if phone == SELLER_PHONE}
    assert "Seller Mukamana" in to_buyer["order_accepted"] and SELLER_PHONE in to_buyer["order_accepted"]
    assert "Buyer Habimana" in to_seller["order_accepted_seller"]
    assert OTHER_PHONE in to_seller["order_accepted_seller"]
    assert re.search(r"\b\d{4}\b", to_buyer["delivery_code"])
    assert "delivery_code" not in to_seller  # the code is the buyer's to give


def test_only_a_hash_of_the_delivery_code_is_stored(accepted):
    db, ids, sent = accepted
    code = _delivery_code(sent)
    with db.session() as s:
        stored = s.get(Order, ids["order"]).delivery_code_hash
    assert stored and code not in stored and len(stored) <= 64


def test_the_right_code_delivers_and_tells_both(accepted):
    db, ids, sent = accepted
    with db.session() as s:
        done = orders.deliver_with_code(s, seller_id=ids["seller"], code=ids["code"],
                                        delivery_code=_delivery_code(sent))
        assert done.outcome == "delivered"
        assert sorted(m.recipient for m in done.messages) == sorted([SELLER_PHONE, OTHER_PHONE])
    with db.session() as s:
        order = s.get(Order, ids["order"])
        assert order.status == "delivered" and order.delivered_at is not None
        assert [e.status for e in s.scalars(select(OrderEvent).order_by(OrderEvent.id))] == [
            "pending", "accepted", "delivered"]


def test_three_wrong_codes_lock_the_entry_for_an_hour_and_tell_the_buyer(accepted):
    db, ids, sent = accepted
    right = _delivery_code(sent)
    wrong = "0000" if right != "0000" else "1111"
    outcomes = []
    for _ in range(3):
        with db.session() as s:  # each entry is its own hop: the count is in SQL
            outcomes.append(orders.deliver_with_code(s, seller_id=ids["seller"], code=ids["code"],
                                                     delivery_code=wrong))
    assert [o.outcome for o in outcomes] == ["wrong", "wrong", "locked"]
    assert [o.tries_left for o in outcomes[:2]] == [2, 1]
    assert [m.recipient for m in outcomes[2].messages] == [OTHER_PHONE]
    with db.session() as s:  # locked: even the right code waits
        assert orders.deliver_with_code(s, seller_id=ids["seller"], code=ids["code"],
                                        delivery_code=right).outcome == "locked"
    with db.session() as s:  # an hour later the right code works
        later = utcnow() + timedelta(hours=1, minutes=1)
        assert orders.deliver_with_code(s, seller_id=ids["seller"], code=ids["code"],
                                        delivery_code=right, now=later).outcome == "delivered"


def test_the_buyer_can_confirm_receipt(accepted):
    db, ids, _ = accepted
    with db.session() as s:
        messages = orders.confirm_receipt(s, s.get(Order, ids["order"]))
        assert {m.recipient for m in messages} == {SELLER_PHONE, OTHER_PHONE}
        assert s.get(Order, ids["order"]).status == "delivered"
        with pytest.raises(orders.OrderClosed):
            orders.confirm_receipt(s, s.get(Order, ids["order"]))


def test_undelivered_accepted_orders_become_overdue(accepted):
    db, ids, _ = accepted
    with db.session() as s:
        assert orders.mark_overdue(s, timedelta(days=7)) == 0
        assert orders.mark_overdue(s, timedelta(days=7), now=utcnow() + timedelta(days=8)) == 1
        assert orders.mark_overdue(s, timedelta(days=7), now=utcnow() + timedelta(days=9)) == 0
        assert s.get(Order, ids["order"]).status == "overdue"


def test_a_dispute_is_raised_then_resolved_by_an_operator(accepted):
    db, ids, _ = accepted
    with db.session() as s:
        order = s.get(Order, ids["order"])
        orders.raise_dispute(s, order, "buyer")
        assert order.status == "disputed"
        orders.resolve_dispute(s, order, "cancelled", "amina")
        assert order.status == "cancelled"
        assert order.events[-1].actor == "op:amina"


def test_every_state_has_a_row_in_the_transition_table():
    assert set(lifecycle.MOVES) == set(OrderStatus)
    assert lifecycle.allowed("pending", "accepted") and not lifecycle.allowed("delivered", "pending")
    with pytest.raises(lifecycle.BadMove):
        lifecycle.check_move("rejected", "delivered")
