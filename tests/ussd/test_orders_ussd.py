"""Journeys 4 and 5 by USSD: buy, answer from the list or from the dial
string an order SMS carries; a seller reaches only their own orders."""
from __future__ import annotations

from sqlalchemy import select

from gateway.market.models import Listing
from gateway.sms.models import Message
from gateway.orders.models import Order
from tests.ussd.helpers import Phone, option, register


def _seller_with_listing(gateway, quantity="10", price="700") -> Phone:
    seller = Phone(gateway.http, "+250788000001", session="seller")
    register(seller, name="Seller", district="Huye")
    body = seller.hop(option(seller.dial(), "Sell"))
    body = seller.walk(option(body, "Coffee cherry"), quantity, price, "1")
    assert body.startswith("END Listed!")
    return seller


def _buy(buyer: Phone, quantity: str, buy: str = "Buy", product: str = "Coffee cherry") -> str:
    body = buyer.hop(option(buyer.dial(), buy))
    body = buyer.hop(option(body, product))
    assert "700 RWF 10 kg Huye" in body
    body = buyer.walk(option(body, "700 RWF"), quantity)
    return body


def test_buy_then_seller_accepts_from_the_list(gateway):
    seller = _seller_with_listing(gateway)
    buyer = Phone(gateway.http, "+250722000002", session="buyer")
    register(buyer, name="Buyer", lang="Francais")
    summary = _buy(buyer, "4 kg", buy="Acheter", product="Café cerise")
    assert summary.startswith("CON Café cerise\n4 kg x 700 RWF\nTotal: 2,800 RWF\nHuye. Confirmer?")
    placed = buyer.hop("1")
    assert placed.startswith("END Commande ")
    code = placed.split()[2]
    with gateway.db.session() as s:
        assert s.scalars(select(Listing)).one().quantity == 6
        seller_sms = s.scalars(select(Message).where(Message.kind == "order_new")).one()
        assert seller_sms.recipient == "+250788000001" and f"*384*7*{code}#" in seller_sms.text
    body = seller.hop(option(seller.dial(), "My orders"))
    assert code in body
    body = seller.hop(option(body, code))
    assert body.startswith(f"CON Order {code}:\n4 kg Coffee cherry\nTotal: 2,800 RWF")
    done = seller.hop(option(body, "Accept"))
    assert done == f"END Order {code} accepted. The buyer is told by SMS."
    with gateway.db.session() as s:
        assert s.scalars(select(Order)).one().status == "accepted"
        told = s.scalars(select(Message).where(Message.kind == "order_accepted")).one()
        assert told.recipient == "+250722000002" and told.language == "fr"


def test_the_dial_string_opens_the_order_directly_and_reject_restocks(gateway):
    seller = _seller_with_listing(gateway)
    buyer = Phone(gateway.http, "+250722000002", session="buyer")
    register(buyer, name="Buyer")
    code = buyer.hop("1").split()[2] if _buy(buyer, "10") else None
    direct = Phone(gateway.http, "+250788000001", session="direct", code=f"*384*7*{code}#")
    body = direct.dial()
    assert body.startswith(f"CON Order {code}:")
    body = direct.walk(option(body, "Reject"), "1")
    assert body == f"END Order {code} rejected. The quantity is back on sale."
    with gateway.db.session() as s:
        assert s.scalars(select(Listing)).one().quantity == 10
    again = Phone(gateway.http, "+250788000001", session="again", code=f"*384*7*{code}#")
    assert again.dial() == f"END No order {code} is waiting for you."


def test_someone_elses_order_code_opens_nothing(gateway):
    _seller_with_listing(gateway)
    buyer = Phone(gateway.http, "+250722000002", session="buyer")
    register(buyer, name="Buyer")
    _buy(buyer, "2")
    code = buyer.hop("1").split()[2]
    # The buyer dials the seller's order string: it is not theirs to answer.
    intruder = Phone(gateway.http, "+250722000002", session="intruder", code=f"*384*7*{code}#")
    assert intruder.dial() == f"END No order {code} is waiting for you."
    with gateway.db.session() as s:
        assert s.scalars(select(Order)).one().status == "pending"


def test_asking_for_more_than_available_offers_to_change_the_quantity(gateway):
    _seller_with_listing(gateway)
    buyer = Phone(gateway.http, "+250722000002", session="buyer")
    register(buyer, name="Buyer")
    body = _buy(buyer, "11")
    assert body.startswith("CON Only 10 kg available.")
    body = buyer.walk(option(body, "Change quantity"), "10")
    assert "Total: 7,000 RWF" in body


def test_a_seller_does_not_see_their_own_listing_to_buy(gateway):
    seller = _seller_with_listing(gateway)
    body = seller.hop(option(seller.dial(), "Buy"))
    body = seller.hop(option(body, "Coffee cherry"))
    assert body.startswith("CON No Coffee cherry on sale now.")
