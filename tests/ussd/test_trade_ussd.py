"""Meet and hand over by USSD (issue 9): after acceptance each side's order
screen shows the other; the seller enters the buyer's code (from My orders or
the order's dial string); the buyer confirms receipt; either raises a dispute."""
from __future__ import annotations

import re

from sqlalchemy import select

from gateway.orders.models import Order
from gateway.sms.models import Message
from tests.ussd.helpers import Phone, option, register
from tests.ussd.test_orders_ussd import _buy, _seller_with_listing

SELLER, BUYER = "+250788000001", "+250722000002"


def _accepted(gateway) -> tuple[str, str]:
    """An order of 4 kg, accepted from the list; (order code, delivery code)."""
    seller = _seller_with_listing(gateway)
    buyer = Phone(gateway.http, BUYER, session="buyer")
    register(buyer, name="Buyer Uwase")
    _buy(buyer, "4")
    code = buyer.hop("1").split()[2]
    body = seller.hop(option(seller.dial(), "My orders"))
    body = seller.hop(option(body, code))
    assert seller.hop(option(body, "Accept")).startswith(f"END Order {code} accepted.")
    with gateway.db.session() as s:
        text = s.scalars(select(Message).where(Message.kind == "delivery_code")).one().text
    return code, re.search(r"is (\d{4})\.", text).group(1)


def _status(gateway) -> str:
    with gateway.db.session() as s:
        return s.scalars(select(Order)).one().status


def test_from_the_dial_string_three_wrong_codes_lock_and_tell_the_buyer(gateway):
    code, right = _accepted(gateway)
    wrong = "0000" if right != "0000" else "1111"
    seller = Phone(gateway.http, SELLER, session="dial", code=f"*384*7*{code}#")
    body = seller.dial()
    assert body.startswith(f"CON {code}: 4 kg Coffee cherry\nBuyer: Buyer Uwase\n{BUYER}")
    body = seller.hop(option(body, "Delivered"))
    assert seller.hop("12a4").startswith("CON The code has 4 digits.")  # a typo is not counted
    assert seller.hop(wrong).startswith("CON Wrong code. Tries left: 2.")
    assert seller.hop(wrong).startswith("CON Wrong code. Tries left: 1.")
    assert seller.hop(wrong) == "END Too many wrong codes. Try again in 1 hour."
    with gateway.db.session() as s:
        assert s.scalars(select(Message).where(Message.kind == "delivery_code_locked")).one().recipient == BUYER
    again = Phone(gateway.http, SELLER, session="again", code=f"*384*7*{code}#")
    body = again.hop(option(again.dial(), "Delivered"))
    assert again.hop(right) == "END Too many wrong codes. Try again in 1 hour."  # locked for the hour
    assert _status(gateway) == "accepted"


def test_the_buyer_sees_the_seller_and_confirms_receipt(gateway):
    code, _ = _accepted(gateway)
    buyer = Phone(gateway.http, BUYER, session="receive")
    body = buyer.hop(option(buyer.dial(), "My orders"))
    body = buyer.hop(option(body, code))
    assert body.startswith(f"CON {code}: 4 kg Coffee cherry\nSeller: Seller\n{SELLER} Huye")
    body = buyer.hop(option(body, "Received"))
    assert body.startswith(f"CON Did you receive order {code}?")
    assert buyer.hop("1") == f"END Thank you! Order {code} is delivered."
    assert _status(gateway) == "delivered"
    with gateway.db.session() as s:
        kinds = [(m.recipient, m.kind) for m in s.scalars(select(Message).where(Message.kind == "order_delivered"))]
    assert sorted(kinds) == sorted([(SELLER, "order_delivered"), (BUYER, "order_delivered")])


def test_the_seller_reports_a_problem(gateway):
    code, _ = _accepted(gateway)
    seller = Phone(gateway.http, SELLER, session="problem")
    body = seller.hop(option(seller.dial(), "My orders"))
    body = seller.hop(option(seller.hop(option(body, code)), "Report a problem"))
    assert body.startswith(f"CON Report a problem with order {code}?")
    assert seller.hop("1") == "END Problem reported. An Isoko operator will call you."
    assert _status(gateway) == "disputed"
    again = Phone(gateway.http, SELLER, session="after")
    body = again.hop(option(again.dial(), "My orders"))
    assert again.hop(option(body, code)).startswith(f"END {code}: a problem was reported.")
