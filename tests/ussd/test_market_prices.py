"""*Prices* by USSD (issue 10): the figures on the screen are the ones this
test computes itself from the rows it created (median, range, count), in
the caller's district when it has at least 3 offers, else the country, in
all three languages, within one 160-character page."""
from __future__ import annotations

import itertools
import socket
import statistics
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select

from gateway.core.models import utcnow
from gateway.market.models import District, Listing, ListingStatus, Producer, Product
from gateway.orders.models import Order, OrderStatus
from gateway.orders import prices
from gateway.ussd import price_cache
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


# The figures a hop computed are kept for every process for a few seconds
# (gateway/ussd/price_cache.py): the next callers read them from Redis. Only
# figures over KEEP_FROM offers and sales are kept; these tests' small market
# is kept once the threshold is lowered to it.

@pytest.fixture
def keep_small(monkeypatch):
    monkeypatch.setattr(price_cache, "KEEP_FROM", 1)

def _huye_and_beans(db) -> tuple[int, int]:
    with db.session() as s:
        beans = s.scalars(select(Product).where(Product.code == "beans")).one()
        return s.scalar(select(District.id).where(District.name == "Huye")), beans.id


def test_the_next_caller_reads_the_figures_from_redis_until_they_expire(gateway, keep_small, monkeypatch):
    expected = _market(gateway.db)
    count, low, high, median, _ = expected["huye"]
    huye, beans_id = _huye_and_beans(gateway.db)
    first = _prices_screen(gateway, "en", "Huye", "+250788000205")
    assert f"On sale: {count}, {low:,}-{high:,}" in first
    where = price_cache.key(beans_id, huye)
    assert 0 < gateway.redis.ttl(where) <= price_cache.TTL_SECONDS
    with gateway.db.session() as s:  # a new cheapest offer, after the figures were kept
        _listing(s, s.get(Product, beans_id), "Huye", 100)
        s.commit()
    computed = []
    with monkeypatch.context() as patch:
        patch.setattr(prices, "figures", lambda *a, **k: computed.append(a) or pytest.fail("recomputed"))
        second = _prices_screen(gateway, "en", "Huye", "+250788000206")
    assert second == first and not computed  # the kept figures, not SQL's
    gateway.redis.delete(where)  # what TTL_SECONDS does
    third = _prices_screen(gateway, "en", "Huye", "+250788000207")
    assert f"On sale: {count + 1}, 100-{high:,}" in third


def test_a_small_market_shows_a_new_offer_at_once(gateway):
    """Under KEEP_FROM offers nothing is kept: the seller who just listed
    sees their offer counted on the next screen."""
    huye, beans_id = _huye_and_beans(gateway.db)
    assert "On sale: 0" in _prices_screen(gateway, "en", "Huye", "+250788000214")
    with gateway.db.session() as s:
        _listing(s, s.get(Product, beans_id), "Huye", 800)
        s.commit()
    assert "On sale: 1, 800-800" in _prices_screen(gateway, "en", "Huye", "+250788000215")
    assert gateway.redis.get(price_cache.key(beans_id, huye)) is None


def test_a_new_reference_price_shows_at_once_over_kept_figures(gateway, keep_small):
    _market(gateway.db)
    _, beans_id = _huye_and_beans(gateway.db)
    _prices_screen(gateway, "en", "Huye", "+250788000208")
    with gateway.db.session() as s:
        s.get(Product, beans_id).reference_price = 1234
        s.commit()
    assert "Ref: 1,234 RWF/kg" in _prices_screen(gateway, "en", "Huye", "+250788000209")


def test_each_district_asked_for_keeps_its_own_figures(gateway, keep_small):
    expected = _market(gateway.db)
    huye = _prices_screen(gateway, "en", "Huye", "+250788000210")
    musanze = _prices_screen(gateway, "en", "Musanze", "+250788000211")  # 2 offers: the country
    assert huye.startswith("CON Beans, Huye") and musanze.startswith("CON Beans, Rwanda")
    count, low, high, _, _ = expected["country"]
    assert f"On sale: {count}, {low:,}-{high:,}" in musanze
    assert _prices_screen(gateway, "en", "Huye", "+250788000212") == huye


def test_an_unreadable_kept_value_is_computed_again_and_replaced(gateway, keep_small):
    expected = _market(gateway.db)
    count, low, high, _, _ = expected["huye"]
    huye, beans_id = _huye_and_beans(gateway.db)
    gateway.redis.set(price_cache.key(beans_id, huye), b"not json")
    body = _prices_screen(gateway, "en", "Huye", "+250788000213")
    assert f"On sale: {count}, {low:,}-{high:,}" in body
    with gateway.db.session() as s:
        kept = price_cache.loads(gateway.redis.get(price_cache.key(beans_id, huye)), s.get(Product, beans_id))
    assert kept.asking == prices.Spread(count, low, high, expected["huye"][3])


def test_without_redis_the_figures_come_from_sql(database, caplog):
    """A Redis that does not answer (nothing listens on the port) costs the
    cache only: the figures are computed, and the warning names no number."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    with database.session() as s:
        beans = s.scalars(select(Product).where(Product.code == "beans")).one()
        for p in (100, 200, 300):
            _listing(s, beans, "Huye", p)
        huye = s.scalar(select(District.id).where(District.name == "Huye"))
        with caplog.at_level("WARNING", logger="gateway.ussd.price_cache"):
            figures = price_cache.figures(unreachable, s, beans, huye)
    assert figures.asking == prices.Spread(3, 100, 300, 200)
    assert "computed from SQL" in caplog.text
