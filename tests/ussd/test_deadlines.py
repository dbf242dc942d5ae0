"""An order past its deadline cannot be accepted by USSD, whatever the expiry
sweep's timing: the seller who opens it (from the list or the dial string)
finds it closed, and both sides are told it expired."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gateway.core.models import utcnow
from gateway.orders.models import Order
from gateway.sms import queue as queues
from gateway.sms.models import Message
from tests.ussd.test_orders_ussd import _buy, _seller_with_listing
from tests.ussd.helpers import Phone, option, register


def _overdue_order(gateway) -> tuple[Phone, str]:
    seller = _seller_with_listing(gateway)
    buyer = Phone(gateway.http, "+250722000002", session="buyer")
    register(buyer, name="Buyer")
    _buy(buyer, "4")
    code = buyer.hop("1").split()[2]
    with gateway.db.session() as s:  # the deadline passes; no sweep runs
        s.execute(update(Order).values(expires_at=utcnow() - timedelta(seconds=1)))
    return seller, code


def _expired_told(gateway) -> list[tuple[str, str]]:
    with gateway.db.session() as s:
        rows = s.scalars(select(Message).where(Message.kind.like("order_expired%")).order_by(Message.kind))
        return [(m.kind, m.recipient) for m in rows]


def test_the_dial_string_of_an_overdue_order_opens_nothing_and_tells_both(gateway):
    _, code = _overdue_order(gateway)
    direct = Phone(gateway.http, "+250788000001", session="direct", code=f"*384*7*{code}#")
    assert direct.dial() == f"END No order {code} is waiting for you."
    with gateway.db.session() as s:
        assert s.scalars(select(Order)).one().status == "expired"
    told = _expired_told(gateway)
    assert told == [("order_expired_buyer", "+250722000002"), ("order_expired_seller", "+250788000001")]
    with gateway.db.session() as s:  # queued with the hop, not left for the sweep
        ids = [str(m.id) for m in s.scalars(select(Message).where(Message.kind.like("order_expired%")))]
    assert all(gateway.redis.zscore(queues.DUE_KEY, i) is not None for i in ids)


def test_accepting_from_an_open_screen_after_the_deadline_is_refused(gateway):
    _, code = _overdue_order(gateway)
    seller = Phone(gateway.http, "+250788000001", session="late")
    body = seller.hop(option(seller.dial(), "My orders"))
    with gateway.db.session() as s:  # the list was read before the deadline moved on
        s.execute(update(Order).values(expires_at=utcnow() + timedelta(minutes=5)))
    body = seller.hop(option(body, code))
    assert body.startswith(f"CON Order {code}:")
    with gateway.db.session() as s:  # the seller hesitates past the deadline
        s.execute(update(Order).values(expires_at=utcnow() - timedelta(seconds=1)))
    done = seller.hop(option(body, "Accept"))
    assert done.startswith("END ") and "accepted" not in done
    with gateway.db.session() as s:
        assert s.scalars(select(Order)).one().status == "expired"
    assert [kind for kind, _ in _expired_told(gateway)] == ["order_expired_buyer", "order_expired_seller"]
