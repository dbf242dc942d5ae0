"""The jobs behind price alerts (`gateway.market.alerts`).

After a commit that changed reference prices (the console's product page,
`gateway catalogue set-price`, an import; `catalogue.Outcome.repriced`
names the products), the caller queues `price_alerts(product_id)` with
`enqueue`. The periodic `tick` checks every subscribed product as well, so
an alert whose job Redis lost, or that the one-a-day limit held back, still
goes out. Both are idempotent: a subscriber's basis moves with the alert
written, in the same transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from redis import Redis

from gateway.core import jobs as context
from gateway.market.alerts import due, subscribed_products
from gateway.market.models import Product
from gateway.sms import queue as queues
from gateway.sms.keys import enqueue_once

log = logging.getLogger(__name__)

JOB_TIMEOUT = 300
RESULT_TTL = 300
FAILURE_TTL = 7 * 24 * 3600


def price_alerts(product_id: int, connection: Redis | None = None) -> int:
    """Write and queue the alerts `product_id`'s subscribers are due; the count."""
    dial = context.settings().ussd_service_code
    with context.database().session() as s:
        product = s.get(Product, int(product_id))
        ids = [m.id for m in due(s, product, dial=dial)] if product is not None else []
    if ids:
        queues.enqueue_many(connection or context.redis(), ids)
        log.info("product %s: %d price alert(s) queued", product_id, len(ids))
    return len(ids)


def tick(connection: Redis | None = None) -> int:
    """Every subscribed product's due alerts (the periodic catch-up)."""
    with context.database().session() as s:
        products = subscribed_products(s)
    return sum(price_alerts(product_id, connection) for product_id in products)


def enqueue(connection: Redis, product_ids: Iterable[int]) -> None:
    """Queue `price_alerts` for each product, after the commit that changed
    its price. A Redis failure is logged, not raised: the change is saved,
    and the periodic tick sends the alerts within its interval."""
    rq_queue = queues.queue(connection, queues.PERIODIC_QUEUE)
    for product_id in product_ids:
        try:
            enqueue_once(rq_queue, price_alerts, int(product_id), job_id=f"price-alerts-{int(product_id)}",
                                timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                                description=f"price_alerts({int(product_id)})")
        except Exception:
            log.exception("product %s: price alerts not queued; the periodic tick will send them", product_id)
