"""A catalogue change reaches every process's next hop that lists products:
two apps on the same Redis and database (each SQL backend), and what that
costs the hops that list nothing."""
from __future__ import annotations

from sqlalchemy import event

from gateway.market import catalogue
from tests.ussd.helpers import Phone, option, register


def to_price_screen(phone: Phone) -> str:
    body = phone.dial()
    if body.startswith("CON Continue selling"):  # the journey before stopped on the price screen
        body = phone.hop("2")
    body = phone.hop(option(body, "Sell"))
    body = phone.hop(option(body, "Coffee cherry"))
    return phone.hop("50")


def test_a_new_price_shows_on_the_next_sell_screen_of_another_app(gateway_factory):
    one, two = gateway_factory(), gateway_factory()
    seller = Phone(one.http)
    register(seller)
    assert "Reference price: 700 RWF" in to_price_screen(seller)
    other = Phone(two.http, number=seller.number, session="b")  # the same seller, through the other app
    assert "Reference price: 700 RWF" in to_price_screen(other)

    with two.db.session() as s:  # as the console of the second app would
        catalogue.set_price(s, "coffee_cherry", 725, by="eddie")

    assert "Reference price: 725 RWF" in to_price_screen(seller)
    assert "Reference price: 725 RWF" in to_price_screen(other)

    with one.db.session() as s:  # off sale: gone from the next list at once
        catalogue.edit(s, "coffee_cherry", {"active": False}, by="eddie")
    body = other.dial()
    if body.startswith("CON Continue selling"):  # the journey before stopped on the price screen
        body = other.hop("2")
    products = other.hop(option(body, "Sell"))
    assert "Coffee cherry" not in products and "Parchment coffee" in products


def test_only_hops_that_list_products_read_the_version(gateway):
    seller = Phone(gateway.http)
    register(seller)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(gateway.db.engine, "before_cursor_execute", seen)
    try:
        main = seller.dial()  # identifies the caller: SQL, but not the catalogue
        assert not any("catalogue_version" in q for q in statements)
        products = seller.hop(option(main, "Sell"))
        assert "Coffee cherry" in products
        assert sum("catalogue_version" in q for q in statements) == 1
        statements.clear()
        newcomer = Phone(gateway.http, number="+250788000099", session="n")
        newcomer.hop(option(newcomer.dial(), "English"))  # a navigation hop: no SQL at all
        assert not any("catalogue_version" in q for q in statements)
    finally:
        event.remove(gateway.db.engine, "before_cursor_execute", seen)
