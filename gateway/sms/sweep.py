"""Putting the SMS pipeline back in order: after Redis lost its data, after a
worker died, and for delivery reports that raced their send.

Redis holds nothing that cannot be rebuilt: every `queued` row of SQL is
(re-)added to the due set, due at its `next_attempt_at` (ZADD NX: an entry
already there keeps its time), and a drain is woken.

A row in `sending` whose lease (`next_attempt_at`, set at the claim) has run
out belonged to a worker that died mid-send. The provider may have it, and
there is no idempotency key: resending could deliver it twice. It becomes
`unknown` instead (never `failed`: it may well have been delivered), and
waits SMS_UNKNOWN_WAIT_SECONDS for a delivery report to its number, which
settles it (`reports.bind_by_phone`, also for reports that came while the
row was still `sending`). Still unsettled after that, it goes to `review`,
listed in the console for an operator, who requeues it
(`gateway sms requeue ID`) or leaves it; a later report still settles it.

`restart` is what a worker does when it starts: a drain at once (not after
the wake flag's TTL a dead worker left behind), and no credential hold left
from the old key.
"""
from __future__ import annotations

import logging
import time

from redis import Redis
from sqlalchemy import select, update

from gateway.core import jobs as context
from gateway.core.db import Database
from gateway.core.models import utcnow
from datetime import timedelta

from gateway.sms import queue as queues
from gateway.sms import reports
from gateway.sms.models import Message, MessageStatus
from gateway.sms.providers.base import is_credential_hold

log = logging.getLogger(__name__)


def requeue_queued_sms(db: Database, connection: Redis, limit: int = 10_000) -> int:
    """Add every queued message to the due set and wake a drain; returns how many."""
    with db.session() as s:
        rows = s.execute(select(Message.id, Message.next_attempt_at)
                         .where(Message.status == MessageStatus.QUEUED)
                         .order_by(Message.id).limit(limit)).all()
    if not rows:
        return 0
    now = time.time()
    due = {str(row.id): (row.next_attempt_at.timestamp() if row.next_attempt_at else now)
           for row in rows}
    connection.zadd(queues.DUE_KEY, due, nx=True)
    queues.wake(connection)
    return len(rows)


def settle_stale_sending(db: Database, wait: float, limit: int = 1000) -> list[int]:
    """Mark `unknown` the `sending` rows whose lease ran out; they go to
    review `wait` seconds later unless a delivery report settles them."""
    now = utcnow()
    with db.session() as s:
        ids = list(s.scalars(select(Message.id).where(
            Message.status == MessageStatus.SENDING, Message.next_attempt_at < now)
            .order_by(Message.id).limit(limit)))
        if ids:
            s.execute(update(Message)
                      .where(Message.id.in_(ids), Message.status == MessageStatus.SENDING)
                      .values(status=MessageStatus.UNKNOWN, failure_reason="worker_lost",
                              next_attempt_at=now + timedelta(seconds=wait),
                              error="unknown: the worker stopped during the send; the provider "
                                    "may have it, so it is not resent; a delivery report settles it")
                      .execution_options(synchronize_session=False))
    for message_id in ids:
        log.warning("sms %s: worker lost during the send; outcome unknown, not resent "
                    "(waiting for a delivery report)", message_id)
    return ids


def settle_unknown(db: Database, limit: int = 1000) -> list[int]:
    """Bind waiting delivery reports to `unknown` rows by number, then move
    the `unknown` rows still unsettled past their wait to `review`."""
    with db.session() as s:
        reports.bind_leftovers(s, limit)
    now = utcnow()
    with db.session() as s:
        ids = list(s.scalars(select(Message.id).where(
            Message.status == MessageStatus.UNKNOWN, Message.next_attempt_at < now)
            .order_by(Message.id).limit(limit)))
        if ids:
            s.execute(update(Message)
                      .where(Message.id.in_(ids), Message.status == MessageStatus.UNKNOWN)
                      .values(status=MessageStatus.REVIEW, next_attempt_at=None)
                      .execution_options(synchronize_session=False))
    for message_id in ids:
        log.warning("sms %s: no delivery report came; marked for review by an operator "
                    "(gateway sms requeue ID sends it again)", message_id)
    return ids


def restart(db: Database, connection: Redis) -> int:
    """A worker starts: clear a credential hold (it may bring the corrected
    key; a wrong one holds again on the first send) and the wake flag a dead
    worker may have left, then queue every queued row and wake a drain now.
    Returns how many rows were queued."""
    reason = connection.get(queues.HOLD_KEY)
    if reason is not None and is_credential_hold(reason.decode() if isinstance(reason, bytes)
                                                 else str(reason)):
        connection.delete(queues.HOLD_KEY)
        log.warning("SMS credential hold cleared at worker start: sending resumes with the "
                    "configured key")
    # Another live worker's drain may be running: a second one is harmless
    # (a row is sent by whoever claims it), a 30 s wait is not.
    connection.delete(queues.WAKE_KEY)
    return requeue_queued_sms(db, connection)


def sweep() -> dict:
    """Periodic job (workers.periodic): all of the above, plus delivery
    reports whose message is known by now."""

    db, connection = context.database(), context.redis()
    stale = settle_stale_sending(db, context.sms().unknown_wait)
    if stale:
        connection.zrem(queues.DUE_KEY, *[str(i) for i in stale])
    with db.session() as s:
        applied = reports.apply_leftovers(s)
    review = settle_unknown(db)
    return {"requeued": requeue_queued_sms(db, connection), "unknown": len(stale),
            "review": len(review), "reports_applied": applied}
