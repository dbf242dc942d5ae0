"""*Prices* by USSD (issue 10): the figures on the screen are the ones this
test computes itself from the rows it created (median, range, count), in
the caller's district when it has at least 3 offers, else the country, in
all three languages, within one 160-character page."""
from __future__ import annotations

import itertools
import statistics
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.core.models import utcnow
from gateway.market.models import District, Listing, ListingStatus, Producer, Product
from gateway.orders.models import Order, OrderStatus
from gateway.orders import prices
from tests.ussd.helpers import Phone, check_reply, option, register

LANG = {"en": "English", "fr": "Francais", "rw": "Kinyarwanda"}
PRICES = {"en": "Prices", "fr": "Prix", "rw": "Ibiciro"}
BEANS = {"en": "Beans", "fr": "Haricots", "rw": "Ibishyimbo"}
SELL = {"en": "Sell", "fr": "Vendre", "rw": "Kugurisha"}
_phones = itertools.count(100)


def _producer(s, district: str) -> Producer:
    district_id = s.scalar(select(District.id).where(District.name == district))
    producer = Producer(phone=f"+25078810{next(_phones):04d}", name="Seller", district_id=district_id,
                        language="en", consented_at=utcnow())
    s.add(producer)
    s.flush()
    return producer


def _listing(s, product: Product, district: str, price: int, status=ListingStatus.ACTIVE) -> Listing:
    listing = Listing(code=str(200000 + next(_phones)), producer_id=_producer(s, district).id,
                      product_id=product.id, quantity=100, unit_price=price, status=status)
    s.add(listing)
    s.flush()
    return listing


def _order(s, listing: Listing, price: int, status: OrderStatus, days_ago: float) -> None:
    when = utcnow() - timedelta(days=days_ago)
    s.add(Order(code=str(300000 + next(_phones)), listing_id=listing.id, seller_id=listing.producer_id,
                channel="api", quantity=1, unit_price=price, total=price, status=status,
                created_at=when, expires_at=when + timedelta(days=1), answered_at=when))


def _market(db) -> dict:
    """Beans on sale in Huye (4 offers), elsewhere (2), off sale (1); orders
    accepted in Huye within 30 days (3), too old (1), never accepted (2).
    Returns the figures computed here, from these very numbers."""
    huye_ask, other_ask = [850, 910, 790, 1000], [600, 1500]
    huye_sold = [880, 820, 940]
    with db.session() as s:
        beans = s.scalars(select(Product).where(Product.code == "beans")).one()
        huye = [_listing(s, beans, "Huye", p) for p in huye_ask]
        for p in other_ask:
            _listing(s, beans, "Musanze", p)
        _listing(s, beans, "Huye", 5, ListingStatus.WITHDRAWN)
        for p, status in zip(huye_sold, (OrderStatus.ACCEPTED, OrderStatus.DELIVERED, OrderStatus.PAID)):
            _order(s, huye[0], p, status, days_ago=3)
        _order(s, huye[1], 2000, OrderStatus.DELIVERED, days_ago=31)
        _order(s, huye[1], 10, OrderStatus.REJECTED, days_ago=1)
        _order(s, huye[1], 10, OrderStatus.PENDING, days_ago=1)
        reference = beans.reference_price
    all_ask = huye_ask + other_ask
    return {"reference": reference,
            "huye": (len(huye_ask), min(huye_ask), max(huye_ask), int(statistics.median(huye_ask)),
                     int(statistics.median(huye_sold))),
            "country": (len(all_ask), min(all_ask), max(all_ask), int(statistics.median(all_ask)),
                        int(statistics.median(huye_sold)))}


def _prices_screen(gateway, lang: str, district: str, number: str) -> str:
    phone = Phone(gateway.http, number=number, session=f"p{number[-4:]}")
    register(phone, district=district, lang=LANG[lang])
    body = phone.dial()
    body = phone.hop(option(body, PRICES[lang]))
    while f". {BEANS[lang]}" not in body:
        body = phone.hop("98")
    return phone.hop(option(body, BEANS[lang]))


@pytest.mark.parametrize("lang", ["en", "fr", "rw"])
def test_prices_show_the_figures_of_the_callers_district(gateway, lang):
    expected = _market(gateway.db)
    count, low, high, median, sold = expected["huye"]
    body = _prices_screen(gateway, lang, "Huye", "+250788000201")
    check_reply(body)  # CON, GSM-7, at most 160 characters
    lines = body[4:].split("\n")
    assert lines[0] == f"{BEANS[lang]}, Huye"
    assert f" {expected['reference']:,}" in lines[1] and lines[1].endswith("/kg")
    assert lines[2].endswith(f"{count}: {low:,}-{high:,}" if lang == "rw" else f"{count}, {low:,}-{high:,}")
    assert lines[3].endswith(f"{median:,}") and lines[4].endswith(f"{sold:,}")


def test_a_district_with_fewer_than_three_offers_sees_the_country(gateway):
    expected = _market(gateway.db)
    count, low, high, median, sold = expected["country"]
    body = _prices_screen(gateway, "en", "Musanze", "+250788000202")  # 2 offers there
    assert body == (f"CON Beans, Rwanda\nRef: {expected['reference']:,} RWF/kg\n"
                    f"On sale: {count}, {low:,}-{high:,}\nMedian: {median:,}\nSold 30d: {sold:,}\n"
                    "1. Alert me\n0. Back")


def test_figures_are_computed_in_sql_the_same_on_both_databases(database):
    """The even count's median is the mean of the two middle prices, rounded down."""
    with database.session() as s:
        beans = s.scalars(select(Product).where(Product.code == "beans")).one()
        for p in (100, 301, 200, 400):
            _listing(s, beans, "Huye", p)
        huye = s.scalar(select(District.id).where(District.name == "Huye"))
        figures = prices.figures(s, beans, huye)
    assert figures.district_id == huye
    assert figures.asking == prices.Spread(4, 100, 400, (200 + 301) // 2)
    assert figures.sold == prices.Spread(0)


def test_no_offers_and_no_sales_show_the_reference_only(gateway):
    body = _prices_screen(gateway, "fr", "Huye", "+250788000203")
    assert body.startswith("CON Haricots, Rwanda\nRéf: ") and "En vente: 0" in body


@pytest.mark.parametrize("price, shown", [(850, "850"), (99_999, "99,999"), (250_400, "250K"),
                                          (1_250_000, "1.2M"), (100_000_000, "100.0M")])
def test_compact_prices_fit_six_characters(price, shown):
    assert prices.compact(price) == shown and len(shown) <= 6


def test_the_sell_price_screen_shows_the_market_now(gateway):
    expected = _market(gateway.db)
    _, low, high, median, _ = expected["huye"]
    phone = Phone(gateway.http, number="+250788000204", session="sell")
    register(phone, district="Huye")
    body = phone.hop(option(phone.dial(), SELL["en"]))
    while ". Beans" not in body:
        body = phone.hop("98")
    body = phone.walk(option(body, "Beans"), "50")
    assert body == (f"CON Price per kg in RWF?\nReference price: {expected['reference']:,} RWF\n"
                    f"Market now: {median:,} ({low:,}-{high:,})\n0. Back")
    assert "x 900 RWF" in phone.hop("900")  # the journey goes on as before
