"""What a product is worth now: the figures *Prices* and the sell journey show.

For one product, as seen from one district:

- the reference price the operators set (`Product.reference_price`);
- the asking prices of the offers on sale now (active listings with stock):
  how many, the lowest, the highest and the median;
- the median unit price of the orders accepted in the last `SOLD_DAYS` days
  (an order counts once its seller accepted it, whatever happened after:
  paid, delivered, overdue, disputed; pending, rejected, expired and
  cancelled orders never agreed a price).

The area: the caller's district when it has at least `LOCAL_MINIMUM` offers
on sale, else the whole country. Both the offers and the sales are taken in
that one area, so the screen can name it once ("Huye" or "Rwanda").

Each figure is computed in SQL: an aggregate (count, min, max) and the
median by `ORDER BY unit_price LIMIT 2 OFFSET (n-1)/2`, never a Python list
of the offers. Both still read every offer of the product: on PostgreSQL
on this project's 2-core machine, about 17 ms for 20,000 listings of one
product and 39 ms for 100,000, seen from a district. The USSD hops therefore
ask through `gateway.ussd.price_cache`, which keeps the figures in Redis for
half a minute: one hop per product and district computes them, the others
read them.
The median of an even count is the mean of the two middle prices, rounded
down to whole RWF. The module lives with the orders because the sales
figure reads them (`gateway.market` may not import `gateway.orders`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.market.models import Listing, ListingStatus, Producer, Product
from gateway.orders.models import Order, OrderStatus

LOCAL_MINIMUM = 3
SOLD_DAYS = 30
COUNTRY = "Rwanda"
# Orders whose price the seller agreed to (the states after acceptance).
AGREED = (OrderStatus.ACCEPTED, OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.SETTLED,
          OrderStatus.OVERDUE, OrderStatus.DISPUTED)


@dataclass(frozen=True)
class Spread:
    """Prices in one area: how many, lowest, highest, median (None when none)."""

    count: int
    low: int | None = None
    high: int | None = None
    median: int | None = None


@dataclass(frozen=True)
class Figures:
    """A product's market now, in `district_id`'s area (None: the country)."""

    product_id: int
    reference: int
    district_id: int | None
    asking: Spread
    sold: Spread


def _spread(s: Session, prices: Select) -> Spread:
    """Count, min, max and median of the one-column `prices` query, in SQL."""
    inner = prices.subquery()
    column = inner.c[0]
    count, low, high = s.execute(select(func.count(), func.min(column), func.max(column))).one()
    if not count:
        return Spread(0)
    middle = list(s.scalars(select(column).order_by(column).limit(2 - count % 2).offset((count - 1) // 2)))
    return Spread(int(count), int(low), int(high), sum(middle) // len(middle))


def _asking(product_id: int, district_id: int | None) -> Select:
    query = (select(Listing.unit_price)
             .where(Listing.product_id == product_id, Listing.status == ListingStatus.ACTIVE,
                    Listing.quantity > 0))
    if district_id is not None:
        query = query.join(Producer, Producer.id == Listing.producer_id).where(
            Producer.district_id == district_id)
    return query


def _sold(product_id: int, district_id: int | None, since: datetime) -> Select:
    query = (select(Order.unit_price)
             .join(Listing, Listing.id == Order.listing_id)
             .where(Listing.product_id == product_id, Order.status.in_(AGREED),
                    Order.answered_at >= since))
    if district_id is not None:
        query = query.join(Producer, Producer.id == Order.seller_id).where(
            Producer.district_id == district_id)
    return query


def offers_in(s: Session, product_id: int, district_id: int) -> int:
    """How many offers of the product are on sale in the district."""
    return s.scalar(select(func.count()).select_from(_asking(product_id, district_id).subquery())) or 0


def figures(s: Session, product: Product, district_id: int | None, *, now: datetime | None = None) -> Figures:
    """The product's market now, seen from `district_id` (None: the country).
    Four to six SQL statements, each reading the offers (or sales) in the area."""
    since = (now or utcnow()) - timedelta(days=SOLD_DAYS)
    area = district_id
    if area is not None and offers_in(s, product.id, area) < LOCAL_MINIMUM:
        area = None
    return Figures(product.id, product.reference_price, area,
                   _spread(s, _asking(product.id, area)), _spread(s, _sold(product.id, area, since)))


def compact(price: int) -> str:
    """A price short enough for a USSD line, at most 6 characters: exact
    below 100,000 RWF ("850", "12,500", "99,999": every farm-gate price per
    kg), then in thousands rounded down ("250K", "999K"), then in millions
    with one decimal ("1.2M", "100.0M")."""
    if price < 100_000:
        return f"{price:,}"
    if price < 1_000_000:
        return f"{price // 1000}K"
    return f"{price / 1_000_000:.1f}M"


def screen_values(figures: Figures, area_name: str) -> tuple[str, dict]:
    """The outcome (`full`, `offers`, `sales`, `none`: which figures exist)
    and the values the *Prices* screens show."""
    values = {"price_area": area_name if figures.district_id is not None else COUNTRY,
              "price_now": compact(figures.reference)}
    asking, sold = figures.asking, figures.sold
    if asking.count:
        values |= {"ask_count": str(min(asking.count, 9999)), "ask_low": compact(asking.low),
                   "ask_high": compact(asking.high), "ask_median": compact(asking.median)}
    if sold.count:
        values |= {"sold_median": compact(sold.median), "sold_count": min(sold.count, 9999)}
    outcome = {(True, True): "full", (True, False): "offers", (False, True): "sales",
               (False, False): "none"}[(bool(asking.count), bool(sold.count))]
    return outcome, values
