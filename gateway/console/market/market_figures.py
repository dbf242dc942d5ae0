"""SQL for the console's market page: one product's prices per local day,
and the notice board's counts per product.

Per day, over a window of the last 30, 60 or 90 local days (the `TZ` zone):

- the reference price in force at the end of the day, from the catalogue's
  price history (`price_changes`: the last change before the window, then
  the window's changes);
- the asking median: the median unit price of the listings created that day
  (whatever became of them since: that was the asking price then);
- the accepted median: the median unit price of the orders the seller
  accepted that day (`answered_at`, the agreed states of
  `gateway.orders.prices`).

Each median is one statement whatever the rows: a window function numbers
each day's prices in order and only the one or two middle ones leave the
database; the median of an even count is the mean of the two middle prices
rounded down, as *Prices* shows it. Both statements read one product over a
bounded window through the (product, status) index. `bench/market_page.py`
measures a page view: about 0.1 s with 10,000 listings of the product in
90 days, about 1 s with 100,000; past that size a daily snapshot table
written by a periodic job would be the next step, not needed before.

Days are local: PostgreSQL converts with the zone database; SQLite, which
has none, shifts by the zone's offset at the window's end (exact for zones
without daylight saving, Rwanda's included).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Date, case, cast, func, or_, select
from sqlalchemy.orm import Session

from gateway.console.market.analytics import Window
from gateway.market.models import Listing, PriceChange
from gateway.market.want_models import Want, WantMatch, WantStatus
from gateway.orders.models import Order
from gateway.orders.prices import AGREED

WINDOWS = (30, 60, 90)
DEFAULT_WINDOW = 30
MAX_CHANGES = 1000  # price changes read per window: far more than an operator makes in 90 days


def local_day(s: Session, column, win: Window):
    """SQL for the local day of the UTC `column` in `win.tz` (its `str` is 'YYYY-MM-DD')."""
    if s.get_bind().dialect.name == "postgresql":
        # A date, not to_char: the cast costs a third of the formatting per row.
        return cast(func.timezone(win.tz.key, column), Date)
    offset = win.until.astimezone(win.tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return func.date(column, f"{minutes:+d} minutes")


def _daily_median(s: Session, day, price, where: list) -> dict[str, int]:
    """{day: median of `price`} over the rows matching `where`, in one statement."""
    ranked = select(day.label("day"), price.label("price"),
                    func.row_number().over(partition_by=day, order_by=price).label("rn"),
                    func.count().over(partition_by=day).label("n")).where(*where).subquery()
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == ranked.c.n // 2 + 1)
    rows = s.execute(select(ranked.c.day, func.sum(ranked.c.price), func.count())
                     .where(middle).group_by(ranked.c.day))
    return {str(d): int(total) // int(n) for d, total, n in rows}


def asking_medians(s: Session, product_id: int, win: Window) -> dict[str, int]:
    """{day: median asking price of the listings created that day}."""
    return _daily_median(s, local_day(s, Listing.created_at, win), Listing.unit_price,
                         [Listing.product_id == product_id,
                          Listing.created_at >= win.since, Listing.created_at < win.until])


def accepted_medians(s: Session, product_id: int, win: Window) -> dict[str, int]:
    """{day: median unit price of the orders accepted that day}."""
    of_product = select(Listing.id).where(Listing.product_id == product_id)
    return _daily_median(s, local_day(s, Order.answered_at, win), Order.unit_price,
                         [Order.listing_id.in_(of_product), Order.status.in_(AGREED),
                          Order.answered_at >= win.since, Order.answered_at < win.until])


def reference_prices(s: Session, product_id: int, win: Window, current: int) -> dict[str, int]:
    """{day: the reference price in force at the end of the day}, every day
    of the window. `current` (the product's price now) stands in when the
    history is empty (a product older than its history)."""
    of_product = PriceChange.product_id == product_id
    before = s.scalar(select(PriceChange.new_price).where(of_product, PriceChange.changed_at < win.since)
                      .order_by(PriceChange.changed_at.desc(), PriceChange.id.desc()).limit(1))
    day = local_day(s, PriceChange.changed_at, win)
    changes = s.execute(select(day, PriceChange.new_price)
                        .where(of_product, PriceChange.changed_at >= win.since,
                               PriceChange.changed_at < win.until)
                        .order_by(PriceChange.changed_at, PriceChange.id).limit(MAX_CHANGES)).all()
    last_of_day = {str(d): int(price) for d, price in changes}  # later rows overwrite: the day's last
    price = before if before is not None else (changes[0][1] if changes else current)
    out = {}
    for key in win.day_keys():
        price = last_of_day.get(key, price)
        out[key] = int(price)
    return out


def wants_per_product(s: Session, now: datetime) -> dict[int, tuple[int, int]]:
    """product id -> (open wants, of them the ones matched at least once), in one statement."""
    matched = select(WantMatch.id).where(WantMatch.want_id == Want.id).exists()
    rows = s.execute(select(Want.product_id, func.count(), func.sum(case((matched, 1), else_=0)))
                     .where(Want.status == WantStatus.OPEN, Want.expires_at > now)
                     .group_by(Want.product_id))
    return {product_id: (int(n), int(m or 0)) for product_id, n, m in rows}
