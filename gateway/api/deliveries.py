"""Webhook deliveries: the fan-out of the order-event outbox, and the RQ job
that POSTs one delivery.

The path of an event (each step its own transaction, each safe to repeat):

1. The orders service writes the `OrderEvent` and its `OrderEventOutbox` row
   in the transaction that changes the order; a rollback takes both away.
2. `tick` (a periodic task, every 2 s) runs `fan_out`: for each outbox row it
   adds one `WebhookDelivery` per live webhook of the order's API key that
   wants the event's type (the body fixed now, as the order was right after
   the event), and deletes the outbox row, in one transaction. Rows are taken
   with SKIP LOCKED on PostgreSQL, and a delivery is unique per (webhook,
   event), so two fan-outs never make one twice.
3. `tick` then enqueues `deliver(id)` for every pending delivery that is due
   (job id `webhook-<id>`, not added while one is pending). Redis may lose a
   job: the row is still pending and due, the next tick enqueues it again.
4. `deliver` claims the row (a conditional UPDATE moves `next_attempt_at` a
   lease ahead, so a second job for it finds it not due), POSTs outside any
   transaction, then records the attempt: 2xx delivered; anything else again
   after `retry_base * 2**(n-1)` seconds (capped), until WEBHOOK_MAX_AGE_HOURS
   after the event, then failed. A worker that dies mid-POST leaves the row
   pending; it is due again when the lease ends. So a receiver may see an
   event twice (it dedupes on the body's `id`), and never sees one that did
   not commit.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from redis import Redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.api import signing, webhook_urls
from gateway.api.listings import iso
from gateway.api.orders import order_json
from gateway.core import jobs as context
from gateway.core.db import Database
from gateway.core.models import utcnow
from gateway.core.settings import WebhookConfig
from gateway.orders.models import OrderEvent
from gateway.orders.outbox import (
    DeliveryStatus,
    OrderEventOutbox,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from gateway.sms import keys as sms_keys

log = logging.getLogger(__name__)

WEBHOOK_QUEUE = "isoko-webhooks"
JOB_TIMEOUT = 90  # seconds: one POST (at most WEBHOOK_TIMEOUT_SECONDS, 60) and the SQL around it
LEASE = timedelta(seconds=JOB_TIMEOUT + 30)  # a claimed delivery is due again after this
RESULT_TTL = 300  # the attempt rows are the record
FAILURE_TTL = int(timedelta(days=7).total_seconds())
FAN_OUT_BATCH = 200
DUE_BATCH = 500
USER_AGENT = "Isoko-Webhooks/1"
def event_type(status: str) -> str:
    return f"order.{status}"


def backoff(attempt: int, config: WebhookConfig) -> timedelta:
    """The wait after failed attempt number `attempt` (1, 2, ...)."""
    return timedelta(seconds=min(config.retry_base * 2 ** (attempt - 1), config.retry_cap))


def payload(s: Session, event: OrderEvent) -> str:
    """The delivery body: `{id, type, created_at, data}`, `data` the order as
    GET /orders/{code} shows it, as it was right after `event`. `id` is the
    event's, the same at every attempt: receivers dedupe on it."""
    body = {"id": f"evt_{event.id}", "type": event_type(event.status),
            "created_at": iso(event.at), "data": order_json(s, event.order, upto=event)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


# --- fan-out and dispatch (the periodic task) --------------------------------------


def fan_out(db: Database, limit: int = FAN_OUT_BATCH) -> int:
    """Turn up to `limit` outbox rows into deliveries; returns how many
    deliveries were made."""
    made = 0
    with db.session() as s:
        rows = s.scalars(select(OrderEventOutbox).order_by(OrderEventOutbox.order_event_id)
                         .limit(limit).with_for_update(skip_locked=True)).all()
        now = utcnow()
        for row in rows:
            event = row.event
            key_id = event.order.api_key_id
            hooks = [] if key_id is None else s.scalars(
                select(Webhook).where(Webhook.api_key_id == key_id, Webhook.deleted_at.is_(None))
                .order_by(Webhook.id)).all()
            kind = event_type(event.status)
            wanted = [hook for hook in hooks if kind in hook.events]
            body = payload(s, event) if wanted else None
            for hook in wanted:
                s.add(WebhookDelivery(webhook_id=hook.id, order_event_id=event.id, event_type=kind,
                                      payload=body, status=DeliveryStatus.PENDING, attempts=0,
                                      created_at=now, next_attempt_at=now))
                made += 1
            s.delete(row)
    return made


def due_ids(db: Database, limit: int = DUE_BATCH) -> list[int]:
    with db.session() as s:
        return list(s.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= utcnow())
            .order_by(WebhookDelivery.next_attempt_at).limit(limit)))


def enqueue(connection: Redis, delivery_id: int) -> bool:
    """Queue `deliver(delivery_id)` unless such a job is pending; True when queued."""
    return sms_keys.enqueue_once(sms_keys.queue(connection, WEBHOOK_QUEUE), deliver, delivery_id,
                                 job_id=f"webhook-{int(delivery_id)}", timeout=JOB_TIMEOUT,
                                 result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                                 description=f"deliver webhook {int(delivery_id)}")


def tick(connection: Redis | None = None) -> int:
    """Fan out the outbox, then queue every due delivery; returns how many were queued.
    Idempotent: a repeated or late tick queues nothing twice."""
    db = context.database()
    fan_out(db)
    connection = connection or context.redis()
    return sum(enqueue(connection, delivery_id) for delivery_id in due_ids(db))


# --- one delivery (the RQ job) -------------------------------------------------------


def deliver(delivery_id: int) -> str:
    """Attempt delivery `delivery_id` once if it is pending and due; returns
    what happened: delivered, retry, failed, cancelled or not_due."""
    config = context.settings().webhooks
    db = context.database()
    claimed = _claim(db, delivery_id, config)
    if isinstance(claimed, str):
        return claimed
    number, url, secret, body = claimed
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Isoko-Delivery": str(delivery_id), signing.HEADER: signing.header(secret, body)}
    try:
        target = webhook_urls.check(url, allow_private=config.allow_private)
    except webhook_urls.UrlRefused as exc:
        outcome = webhook_urls.Outcome(None, f"refused: {exc}"[:200], 0)
    else:
        outcome = webhook_urls.post(target, body, headers, config.timeout)
    return _record(db, delivery_id, number, outcome, config)


def _claim(db: Database, delivery_id: int, config: WebhookConfig):
    """(attempt number, url, secret, body) of a claimed delivery, or why not."""
    with db.session() as s:
        now = utcnow()
        delivery = s.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.PENDING \
                or delivery.next_attempt_at is None or delivery.next_attempt_at > now:
            return "not_due"
        hook = delivery.webhook
        if hook.deleted_at is not None:
            return _finish(s, delivery_id, DeliveryStatus.CANCELLED, "the webhook was deleted")
        if now >= delivery.created_at + timedelta(hours=config.max_age_hours):
            return _finish(s, delivery_id, DeliveryStatus.FAILED, "too old")
        claimed = s.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id,
                   WebhookDelivery.status == DeliveryStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempts=WebhookDelivery.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return "not_due"
        return delivery.attempts + 1, hook.url, hook.secret, delivery.payload.encode("utf-8")


def _finish(s: Session, delivery_id: int, status: DeliveryStatus, error: str) -> str:
    s.execute(update(WebhookDelivery)
              .where(WebhookDelivery.id == delivery_id,
                     WebhookDelivery.status == DeliveryStatus.PENDING)
              .values(status=status, finished_at=utcnow(), next_attempt_at=None, last_error=error)
              .execution_options(synchronize_session=False))
    return str(status)


def _record(db: Database, delivery_id: int, number: int, outcome: webhook_urls.Outcome,
            config: WebhookConfig) -> str:
    with db.session() as s:
        now = utcnow()
        s.add(WebhookAttempt(delivery_id=delivery_id, number=number, at=now,
                             duration_ms=outcome.duration_ms, status_code=outcome.status_code,
                             error=outcome.error))
        delivery = s.get(WebhookDelivery, delivery_id, with_for_update=True)
        delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
        if delivery.status != DeliveryStatus.PENDING:
            return str(delivery.status)  # deleted meanwhile: the attempt is still on record
        if outcome.status_code is not None and 200 <= outcome.status_code < 300:
            delivery.status, delivery.finished_at, delivery.next_attempt_at = (
                DeliveryStatus.DELIVERED, now, None)
            return "delivered"
        later = now + backoff(number, config)
        if later >= delivery.created_at + timedelta(hours=config.max_age_hours):
            delivery.status, delivery.finished_at, delivery.next_attempt_at = (
                DeliveryStatus.FAILED, now, None)
            log.warning("webhook delivery %s failed after %d attempts", delivery_id, number)
            return "failed"
        delivery.next_attempt_at = later
        return "retry"
