"""A product's market figures, kept in Redis for every process for a few
seconds.

`gateway.orders.prices.figures` reads every offer of the product on sale in
the area (see that module): tens of milliseconds once a product has tens of
thousands, on every sell journey's price screen and every *Prices* hop. Those
screens show everyone asking from one district the same figures, so the
first hop that needs them computes them and keeps them here for
`TTL_SECONDS`; the hops after it read them in one GET. What a caller sees is
therefore at most that old: an offer listed a moment ago shows in the market
line within half a minute. Only figures over at least `KEEP_FROM` offers and
sales are kept: below that they cost a few milliseconds at most, and one new offer
visibly changes them ("On sale: 0" → 1), which is what its seller checks
straight after listing; above it one offer more barely moves a median. The
reference price is not kept here either: it is the product row's, which the
hop reads anyway, so an operator's new reference shows at once.

Redis is an optimisation here, never the authority: a value this code cannot
read, or a Redis error, means the figures come from SQL.
"""
from __future__ import annotations

import json
import logging

from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from gateway.market.models import Product
from gateway.orders import prices

log = logging.getLogger(__name__)

PREFIX = "isoko:prices:"
TTL_SECONDS = 30
# Offers and sales counted below which figures are always computed afresh.
KEEP_FROM = 500


def key(product_id: int, district_id: int | None) -> str:
    """Where the figures of a product seen from a district (None: the
    country) live. Keyed by the district asked for, not the area shown: a
    district with too few offers is answered with the country's figures."""
    return f"{PREFIX}{product_id}:{'' if district_id is None else district_id}"


def dumps(figures: prices.Figures) -> str:
    """The stored form: the area and the two spreads, no reference price."""
    spreads = [[spread.count, spread.low, spread.high, spread.median]
               for spread in (figures.asking, figures.sold)]
    return json.dumps([figures.district_id, *spreads], separators=(",", ":"))


def loads(raw: bytes | str | None, product: Product) -> prices.Figures | None:
    """The figures stored in `raw` with the product's reference price now;
    None for a miss or a value this code cannot read."""
    if not raw:
        return None
    try:
        area, asking, sold = json.loads(raw)
        return prices.Figures(product.id, product.reference_price, area,
                              prices.Spread(*asking), prices.Spread(*sold))
    except (ValueError, TypeError):
        return None


def figures(client, s: Session, product: Product, district_id: int | None) -> prices.Figures:
    """`prices.figures(s, product, district_id)`, from Redis when a hop in the
    last `TTL_SECONDS` computed them over at least `KEEP_FROM` offers and
    sales. `client` None (no Redis in this context) always computes them."""
    where = key(product.id, district_id)
    if client is not None:
        try:
            cached = loads(client.get(where), product)
        except RedisError as exc:
            log.warning("price figures: cache unreadable (%s); computed from SQL", type(exc).__name__)
            client = cached = None  # a Redis that failed the read is not asked to write
        if cached is not None:
            return cached
    fresh = prices.figures(s, product, district_id)
    if client is not None and fresh.asking.count + fresh.sold.count >= KEEP_FROM:
        try:
            client.set(where, dumps(fresh), ex=TTL_SECONDS)
        except RedisError as exc:
            log.warning("price figures: not cached (%s)", type(exc).__name__)
    return fresh
