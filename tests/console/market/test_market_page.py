"""The console's market page (issue 10): one product's prices per day as an
SVG chart (reference, asking median, accepted median), whose figures the
test computes itself from the rows it wrote; open wants, matched wants and
alert subscribers per product."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gateway.core.models import utcnow
from gateway.market import alerts, wants
from gateway.market.models import District, Listing, ListingStatus, PriceChange, Producer, Product
from gateway.market.want_models import WantMatch
from gateway.orders.models import Order, OrderStatus

KIGALI = ZoneInfo("Africa/Kigali")
POINT = re.compile(r'data-series="(\w+)" data-day="([\d-]+)" data-value="([\d.]+)"')


def _day(days_ago: int) -> tuple[str, datetime]:
    """A Kigali day `days_ago` before today, and 09:00 on it in UTC."""
    day = datetime.now(timezone.utc).astimezone(KIGALI).date() - timedelta(days=days_ago)
    return day.isoformat(), datetime.combine(day, time(9), tzinfo=KIGALI).astimezone(timezone.utc)


def _points(page: str) -> dict[str, dict[str, float]]:
    chart = page[page.index('<svg id="chart-prices"'):page.index("</svg>", page.index('<svg id="chart-prices"'))]
    out: dict[str, dict[str, float]] = {}
    for series, day, value in POINT.findall(chart):
        out.setdefault(series, {})[day] = float(value)
    return out


def _floor_median(prices: list[int]) -> int:
    return int(median(prices) // 1)


ASKING = {5: [800, 900, 1000, 700], 3: [950, 600, 1200]}  # days ago -> listing prices that day
ACCEPTED = {5: [820, 870], 2: [910]}  # days ago -> prices of orders accepted that day


def _market(db) -> dict:
    with db.session() as s:
        district = s.scalars(select(District).order_by(District.id)).first()
        beans = s.scalar(select(Product).where(Product.code == "beans"))
        seller = Producer(phone="+250788100001", name="Seller", district_id=district.id, language="en",
                          consented_at=utcnow())
        buyer = Producer(phone="+250788100002", name="Buyer", district_id=district.id, language="rw",
                         consented_at=utcnow())
        s.add_all([seller, buyer])
        s.flush()
        code = iter(range(300000, 300100))
        listings = []
        for ago, prices in ASKING.items():
            at = _day(ago)[1]
            for price in prices:
                listings.append(Listing(code=str(next(code)), producer_id=seller.id, product_id=beans.id,
                                        quantity=10, unit_price=price, status=ListingStatus.ACTIVE, created_at=at))
        old = Listing(code=str(next(code)), producer_id=seller.id, product_id=beans.id, quantity=10,
                      unit_price=5000, status=ListingStatus.ACTIVE, created_at=_day(40)[1])  # outside 30 days
        s.add_all([*listings, old])
        s.flush()

        def order(price: int, status: OrderStatus, at: datetime) -> None:
            s.add(Order(code=str(next(code)), listing_id=old.id, seller_id=seller.id, buyer_id=buyer.id,
                        channel="ussd", quantity=1, unit_price=price, total=price, status=status,
                        created_at=at, expires_at=at + timedelta(hours=2), answered_at=at))
        for ago, prices in ACCEPTED.items():
            for i, price in enumerate(prices):
                order(price, OrderStatus.ACCEPTED if i % 2 == 0 else OrderStatus.DELIVERED, _day(ago)[1])
        order(9000, OrderStatus.REJECTED, _day(5)[1])  # never an agreed price
        order(7000, OrderStatus.ACCEPTED, _day(40)[1])  # outside 30 days

        s.add_all([PriceChange(product_id=beans.id, old_price=None, new_price=850, changed_by="t",
                               changed_at=_day(45)[1]),
                   PriceChange(product_id=beans.id, old_price=850, new_price=880, changed_by="t",
                               changed_at=_day(4)[1]),
                   PriceChange(product_id=beans.id, old_price=880, new_price=900, changed_by="t",
                               changed_at=_day(4)[1] + timedelta(hours=3))])
        beans.reference_price = 900

        open_wants = [wants.post_want(s, product_id=beans.id, grade=None, quantity=100, max_price=p,
                                      language="rw", channel="ussd", buyer_id=buyer.id)[0] for p in (900, 800, 700)]
        s.flush()
        s.add(WantMatch(want_id=open_wants[0].id, listing_id=listings[0].id, notified="buyer"))
        s.add(WantMatch(want_id=open_wants[0].id, listing_id=listings[1].id, notified="buyer"))
        alerts.subscribe(s, seller.id, beans)
        alerts.subscribe(s, buyer.id, beans)
        return {"beans": beans.code}


def test_the_chart_shows_the_medians_and_reference_the_test_computes(viewer, gw):
    _market(gw.db)
    page = viewer.get("/admin/market/prices?product=beans&days=30")
    assert page.status_code == 200
    points = _points(page.get_data(as_text=True))
    assert points["asking"] == {_day(ago)[0]: _floor_median(p) for ago, p in ASKING.items()}
    assert points["accepted"] == {_day(ago)[0]: _floor_median(p) for ago, p in ACCEPTED.items()}
    reference = points["reference"]
    assert len(reference) == 30
    assert reference[_day(29)[0]] == reference[_day(5)[0]] == 850  # the price from before the window
    assert reference[_day(4)[0]] == reference[_day(0)[0]] == 900  # the day's last change

    wider = _points(viewer.get("/admin/market/prices?product=beans&days=60").get_data(as_text=True))
    assert wider["asking"][_day(40)[0]] == 5000 and wider["accepted"][_day(40)[0]] == 7000
    assert len(wider["reference"]) == 60


def test_wants_matches_and_subscribers_per_product(viewer, gw):
    _market(gw.db)
    page = viewer.get("/admin/market/prices").get_data(as_text=True)
    assert 'data-code="beans" data-open-wants="3" data-matched="1" data-subscribers="2"' in page
    assert re.search(r'data-code="(?!beans)\w+" data-open-wants="0" data-matched="0" data-subscribers="0"', page)
    assert 'id="tab-prices" aria-current="page"' in page
    assert viewer.get("/admin/market/prices?product=nonsense").status_code == 404
