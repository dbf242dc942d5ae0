"""Journeys 1–3 beyond the happy path: manage listings, navigation, resume,
menu versions pinned per session."""
from __future__ import annotations

from sqlalchemy import select

from gateway.ussd import menustore
from gateway.market.models import Listing
from tests.ussd.helpers import Phone, option, register


def _list_one(gateway, phone: Phone, quantity="50", price="700") -> str:
    register(phone) if phone.dial().startswith("CON Isoko\n") else None
    body = phone.hop(option(phone.dial(), "Sell"))
    body = phone.walk(option(body, "Coffee cherry"), quantity, price, "1")
    return body.split("Code: ")[1][:6]


def test_change_quantity_and_price_then_withdraw(gateway):
    phone = Phone(gateway.http)
    code = _list_one(gateway, phone)
    body = phone.hop(option(phone.dial(), "My listings"))
    assert code in body
    body = phone.hop(option(body, code))
    assert "Price: 700 RWF" in body
    body = phone.walk(option(body, "Change quantity"), "80 kg")
    assert body.startswith("END ") and "80 kg at 700 RWF" in body
    body = phone.walk(option(phone.dial(), "My listings"), "1")
    body = phone.walk(option(body, "Change price"), "750")
    assert "80 kg at 750 RWF" in body
    body = phone.walk(option(phone.dial(), "My listings"), "1")
    body = phone.walk(option(body, "Withdraw"), "1")
    assert body == f"END Listing {code} withdrawn."
    with gateway.db.session() as s:
        listing = s.scalars(select(Listing)).one()
        assert (listing.quantity, listing.unit_price, listing.status) == (80, 750, "withdrawn")
    body = phone.hop(option(phone.dial(), "My listings"))
    assert "You have no listings" in body


def test_a_producer_sees_only_their_own_listings(gateway):
    alice, bob = Phone(gateway.http, "+250788000001", "a"), Phone(gateway.http, "+250722000002", "b")
    code = _list_one(gateway, alice)
    register(bob, name="Bob")
    body = bob.hop(option(bob.dial(), "My listings"))
    assert code not in body and "no listings" in body


def test_back_and_main_menu_keys(gateway):
    phone = Phone(gateway.http)
    register(phone)
    products = phone.hop(option(phone.dial(), "Sell"))
    quantity = phone.hop(option(products, "Coffee cherry"))
    assert phone.hop("0") == products
    phone.hop(option(products, "Coffee cherry"))
    assert phone.hop("00").startswith("CON Isoko: Hello Jean Bosco")


def test_dropped_session_is_offered_to_continue(gateway):
    phone = Phone(gateway.http, session="first")
    register(phone)
    body = phone.hop(option(phone.dial(), "Sell"))
    where = phone.hop(option(body, "Coffee cherry"))  # the quantity prompt, then the phone drops
    phone.session = "second"
    offer = phone.dial()
    assert offer == "CON Continue selling Coffee cherry?\n1. Yes\n2. No"
    assert phone.hop("1") == where
    body = phone.walk("50", "700", "1")
    assert body.startswith("END Listed!")
    phone.session = "third"
    assert phone.dial().startswith("CON Isoko: Hello")  # nothing left to resume after an END


def test_declining_to_continue_starts_afresh(gateway):
    phone = Phone(gateway.http, session="one")
    register(phone)
    phone.walk(option(phone.dial(), "Sell"), "1")
    phone.session = "two"
    assert phone.dial().startswith("CON Continue selling Coffee cherry?")
    assert phone.hop("2").startswith("CON Isoko: Hello")


def test_publish_reaches_new_sessions_while_old_ones_keep_their_version(gateway):
    register(Phone(gateway.http, "+250788000001", session="alice"))
    register(Phone(gateway.http, "+250788000002", session="bob"), name="Bob")
    in_flight = Phone(gateway.http, "+250788000001", session="inflight")
    assert "Sell goods" in in_flight.dial()
    products = in_flight.hop("1")
    with gateway.db.session() as s:
        source = menustore.SHIPPED.joinpath("marketplace.yaml").read_text()
        version = menustore.publish(s, source.replace("Sell goods", "Sell produce"), created_by="test").version
    gateway.services.store.set_head("marketplace", version, published=True)
    assert "Sell produce" in Phone(gateway.http, "+250788000002", session="new").dial()
    # The session that started before the publish finishes on its own version.
    assert products.startswith("CON What are you selling?")
    assert "Sell goods" in in_flight.hop("0")
