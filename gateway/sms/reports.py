"""Delivery reports: stored always, applied to their message when it is known.

A report names the message by the provider's id. It can arrive before the
send job has written that id (the provider answers the send, reports, and
only then does our write commit), so a report for an unknown id is kept
unapplied, and the send applies it when it records the id.

The delivery status only moves forward: Sent < Submitted < Buffered < a final
status (Success, Failed, Rejected, AbsentSubscriber, Expired); the first
final status wins. Statuses we do not know are stored and change nothing.

A message whose send answer was lost (status `unknown`, or `review` after
the wait: a read timeout, a worker that died) has no provider id. A report
whose id matches no message then settles the oldest such message to its
number (`bind_by_phone`): the report proves the provider took a message for
that number. At arrival this is done only when no message to the number is
in `sending` (its own send may just not be recorded yet); the sweeper binds
the rest once they are older than BIND_GRACE.

On PostgreSQL both sides take a transaction-scoped advisory lock on the
provider id before looking at the other side's row, so a report and the
send's write cannot each miss the other's uncommitted row. SQLite
serialises writers anyway (BEGIN IMMEDIATE, see gateway.db).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.sms.models import DeliveryReport, Message, MessageStatus

log = logging.getLogger(__name__)

FINAL = 4
BIND_GRACE = timedelta(seconds=5)  # a report older than this has no send left to race (ms)
# Reports older than this are not bound any more: an id that matched nothing
# for a day (another application on the same account) is not looked at again.
BIND_WINDOW = timedelta(days=1)
UNSETTLED = (MessageStatus.UNKNOWN, MessageStatus.REVIEW)
STATUS_RANK = {
    "Sent": 1,
    "Submitted": 2,
    "Buffered": 3,
    "Success": FINAL,
    "Failed": FINAL,
    "Rejected": FINAL,
    "AbsentSubscriber": FINAL,
    "Expired": FINAL,
}


def rank(status: str | None) -> int | None:
    """How far along `status` is; 0 for none yet, None for a status we do not know."""
    if status is None:
        return 0
    return STATUS_RANK.get(status)


def lock_ids(session: Session, provider_message_ids: Iterable[str]) -> None:
    """Serialise work on these provider ids with concurrent transactions (PostgreSQL)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({int.from_bytes(hashlib.blake2b(pmid.encode(), digest_size=8).digest(), "big",
                                  signed=True) for pmid in provider_message_ids})
    if keys:
        # One statement, keys in a fixed order: two batches cannot deadlock.
        session.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM "
                             "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS ordered"),
                        {"keys": keys})


def apply(message: Message, report: DeliveryReport) -> bool:
    """Apply one report to its message; True when the status moved forward."""
    report.applied = True
    new, current = rank(report.status), rank(message.delivery_status) or 0
    if new is None or new <= current:
        return False
    message.delivery_status = report.status
    if report.status == "Success":
        message.delivered_at = report.received_at or utcnow()
    elif new == FINAL:
        message.failure_reason = (report.failure_reason or report.status)[:64]
    return True


def record(session: Session, *, provider_message_id: str, status: str,
           failure_reason: str | None = None, network_code: str | None = None,
           retry_count: int | None = None, received_at: datetime | None = None,
           raw: str | None = None, phone: str | None = None) -> tuple[DeliveryReport, Message | None]:
    """Store a report and apply it when its message is known (caller commits).
    `raw` is the provider's form as received, kept beside the parsed fields;
    with `phone` (E.164), a report for no known id may settle an `unknown`
    message to that number (see the module docstring).

    Returns the report and the message it matched (None when unknown yet)."""
    lock_ids(session, [provider_message_id])
    report = DeliveryReport(provider_message_id=provider_message_id, status=status,
                            failure_reason=failure_reason, network_code=network_code,
                            retry_count=retry_count, received_at=received_at or utcnow(),
                            applied=False, raw=raw, phone=phone)
    session.add(report)
    if rank(status) is None:
        log.warning("delivery report with an unknown status %r stored, not applied", status)
    message = session.scalar(select(Message).where(Message.provider_message_id == provider_message_id)
                             .order_by(Message.id).limit(1))
    if message is not None:
        apply(message, report)
    elif phone is not None and not _sending_to(session, phone):
        message = bind_by_phone(session, report)
    session.flush()
    return report, message


def _sending_to(session: Session, phone: str) -> bool:
    return session.scalar(select(Message.id).where(
        Message.recipient == phone, Message.status == MessageStatus.SENDING).limit(1)) is not None


def bind_by_phone(session: Session, report: DeliveryReport) -> Message | None:
    """Settle the oldest unsettled message to the report's number with this
    report: it gets the report's provider id, status `sent`, and the report's
    delivery status. Returns it, or None when there is none."""
    if report.phone is None:
        return None
    message = session.scalar(
        select(Message).where(Message.recipient == report.phone, Message.status.in_(UNSETTLED),
                              Message.provider_message_id.is_(None),
                              Message.created_at <= report.received_at)
        .order_by(Message.id).limit(1).with_for_update())
    if message is None:
        return None
    was = message.status
    message.status, message.provider_message_id = MessageStatus.SENT, report.provider_message_id
    message.sent_at = message.sent_at or report.received_at
    message.next_attempt_at, message.failure_reason = None, None
    message.error = f"settled by a delivery report (was {was})"
    apply(message, report)
    log.info("sms %s: outcome was %s; a delivery report settled it", message.id, was)
    return message


def bind_leftovers(session: Session, limit: int = 1000) -> int:
    """Bind unapplied reports older than BIND_GRACE whose id matches no
    message to unsettled messages by number (the sweeper's side); returns how many."""
    known = select(Message.id).where(Message.provider_message_id == DeliveryReport.provider_message_id)
    reports = session.scalars(
        select(DeliveryReport).where(DeliveryReport.applied.is_(False), DeliveryReport.phone.is_not(None),
                                     DeliveryReport.received_at <= utcnow() - BIND_GRACE,
                                     DeliveryReport.received_at >= utcnow() - BIND_WINDOW,
                                     ~known.exists())
        .order_by(DeliveryReport.id).limit(limit)).all()
    seen: set[str] = set()
    bound = 0
    for report in reports:
        if report.provider_message_id in seen:
            # A later report for an id bound just now: apply it to that message.
            message = session.scalar(select(Message).where(
                Message.provider_message_id == report.provider_message_id))
            apply(message, report)
            continue
        if bind_by_phone(session, report) is not None:
            seen.add(report.provider_message_id)
            bound += 1
        session.flush()
    return bound


def apply_pending(session: Session, messages: Iterable[Message]) -> int:
    """Apply the unapplied reports of these just-sent messages, oldest first
    (caller holds the ids' locks, see `lock_ids`, and commits). Returns how many."""
    by_id = {m.provider_message_id: m for m in messages if m.provider_message_id}
    if not by_id:
        return 0
    reports = session.scalars(
        select(DeliveryReport)
        .where(DeliveryReport.provider_message_id.in_(list(by_id)), DeliveryReport.applied.is_(False))
        .order_by(DeliveryReport.id)
    ).all()
    for report in reports:
        apply(by_id[report.provider_message_id], report)
    return len(reports)


def apply_leftovers(session: Session, limit: int = 1000) -> int:
    """Apply unapplied reports whose message is known by now (a safety net
    run by the sweeper). Returns how many were applied."""
    pmids = session.scalars(
        select(DeliveryReport.provider_message_id)
        .join(Message, Message.provider_message_id == DeliveryReport.provider_message_id)
        .where(DeliveryReport.applied.is_(False))
        .distinct().limit(limit)
    ).all()
    if not pmids:
        return 0
    lock_ids(session, pmids)
    messages = session.scalars(select(Message).where(Message.provider_message_id.in_(pmids))).all()
    return apply_pending(session, messages)


def apply_pending_ids(session: Session, provider_message_ids: Iterable[str]) -> int:
    """`apply_pending` for messages known by their provider ids: one query
    when no report is waiting (the usual case)."""
    ids = list(set(provider_message_ids))
    if not ids:
        return 0
    waiting = session.scalars(select(DeliveryReport.provider_message_id).where(
        DeliveryReport.provider_message_id.in_(ids), DeliveryReport.applied.is_(False))).all()
    if not waiting:
        return 0
    messages = session.scalars(select(Message).where(Message.provider_message_id.in_(set(waiting)))).all()
    return apply_pending(session, messages)
