"""Order jobs run by the workers: expiring unanswered orders, marking
undelivered ones overdue."""
from __future__ import annotations

import logging
from datetime import timedelta

from redis import Redis

from gateway.core import jobs as context
from gateway.orders import service as orders
from gateway.sms import queue as queues

log = logging.getLogger(__name__)


def expire_orders(connection: Redis | None = None) -> int:
    """Expire every pending order past its time, give the stock back and
    queue the SMS to both sides. Safe to run twice or concurrently: each order
    is re-read under a lock and only a pending one changes. Returns the count."""
    db = context.database()
    with db.session() as s:
        count, messages = orders.expire_due(s)
        ids = [m.id for m in messages]
    connection = connection or context.redis()  # the running job's Redis
    for message_id in ids:
        queues.enqueue_sms(connection, message_id)
    if count:
        log.info("expired %d orders, queued %d SMS", count, len(ids))
    return count


def mark_overdue_orders() -> int:
    """Accepted orders not delivered within DELIVERY_DAYS become overdue (the
    console lists them for an operator). Idempotent; returns the count."""
    days = context.settings().delivery_days
    with context.database().session() as s:
        count = orders.mark_overdue(s, timedelta(days=days))
    if count:
        log.info("%d orders overdue (not delivered within %d days)", count, days)
    return count
