"""Putting the SMS pipeline back in order: after Redis lost its data, after a
worker died, and for delivery reports that raced their send.

Redis holds nothing that cannot be rebuilt: every `queued` row of SQL is
(re-)added to the due set, due at its `next_attempt_at` (ZADD NX: an entry
already there keeps its time), and a drain is woken.

A row in `sending` whose lease (`next_attempt_at`, set at the claim) has run
out belonged to a worker that died mid-send. The provider may have it, and
there is no idempotency key: resending could deliver it twice. It is marked
failed with failure_reason "unknown_outcome" instead, and logged; an operator
who knows better requeues it (`gateway sms requeue ID`).
"""
from __future__ import annotations

import logging
import time

from redis import Redis
from sqlalchemy import select, update

from gateway.core import jobs as context
from gateway.core.db import Database
from gateway.core.models import utcnow
from gateway.sms import queue as queues
from gateway.sms import reports
from gateway.sms.models import Message, MessageStatus
from gateway.sms.sender import UNKNOWN_OUTCOME

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


def settle_stale_sending(db: Database, limit: int = 1000) -> list[int]:
    """Mark failed ("unknown_outcome") the `sending` rows whose lease ran out."""
    now = utcnow()
    with db.session() as s:
        ids = list(s.scalars(select(Message.id).where(
            Message.status == MessageStatus.SENDING, Message.next_attempt_at < now)
            .order_by(Message.id).limit(limit)))
        if ids:
            s.execute(update(Message)
                      .where(Message.id.in_(ids), Message.status == MessageStatus.SENDING)
                      .values(status=MessageStatus.FAILED, failure_reason=UNKNOWN_OUTCOME,
                              next_attempt_at=None,
                              error="unknown outcome: the worker stopped during the send; the "
                                    "provider may have accepted it, so it is not resent "
                                    "automatically (gateway sms requeue ID sends it again)")
                      .execution_options(synchronize_session=False))
    for message_id in ids:
        log.warning("sms %s: worker lost during the send; marked failed (unknown_outcome), "
                    "not resent", message_id)
    return ids


def sweep() -> dict:
    """Periodic job (workers.periodic): all of the above, plus delivery
    reports whose message is known by now."""

    db, connection = context.database(), context.redis()
    stale = settle_stale_sending(db)
    if stale:
        connection.zrem(queues.DUE_KEY, *[str(i) for i in stale])
    with db.session() as s:
        applied = reports.apply_leftovers(s)
    return {"requeued": requeue_queued_sms(db, connection), "unknown_outcome": len(stale),
            "reports_applied": applied}
