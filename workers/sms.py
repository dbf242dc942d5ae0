"""The SMS job: deliver one queued `Message` row.

Until a provider adapter is wired in, delivery goes to the local outbox: the
row itself, marked sent by provider "outbox", which the operator console
lists. The job re-reads the row and acts only on status "queued", so running
it twice (a duplicate enqueue, a retry after a crash) sends once.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from gateway.models import Message, MessageStatus, utcnow
from gateway.phones import mask
from workers import context

log = logging.getLogger(__name__)

OUTBOX = "outbox"


def send_sms(message_id: int) -> str:
    """Send message `message_id`; returns what happened: "sent", "dropped",
    "skipped" (not queued any more) or "missing" (no such row)."""
    with context.database().session() as session:
        # FOR UPDATE: two workers holding the same id queue up on PostgreSQL
        # instead of both sending (SQLite serialises writers anyway).
        message = session.scalar(
            select(Message).where(Message.id == message_id).with_for_update()
        )
        if message is None:
            log.warning("sms %s: no such message", message_id)
            return "missing"
        if message.status != MessageStatus.QUEUED:
            log.info("sms %s: already %s, nothing to do", message_id, message.status.value)
            return "skipped"
        now = utcnow()
        if _too_old(message.created_at, now):
            return _drop(message, now)
        return _deliver_to_outbox(message, now)


def _too_old(created_at: datetime, now: datetime) -> bool:
    # A receipt that arrives hours late confuses more than it helps.
    return now - created_at > context.sms_max_age()


def _drop(message: Message, now: datetime) -> str:
    age = int((now - message.created_at).total_seconds())
    limit = int(context.sms_max_age().total_seconds())
    message.status = MessageStatus.DROPPED
    message.error = f"expired: queued {age} s ago, limit {limit} s"
    log.warning(
        "sms %s to %s dropped: %s", message.id, mask(message.recipient), message.error
    )
    return "dropped"


def _deliver_to_outbox(message: Message, now: datetime) -> str:
    message.attempts += 1
    message.status = MessageStatus.SENT
    message.provider = OUTBOX
    message.provider_message_id = f"{OUTBOX}-{message.id}"
    message.sent_at = now
    message.error = None
    log.info(
        "sms %s to %s sent via %s (%s, %d segment(s))",
        message.id,
        mask(message.recipient),
        OUTBOX,
        message.kind,
        message.segments,
    )
    return "sent"
