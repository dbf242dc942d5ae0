"""Operators' broadcasts: check the text, write one queued SMS per recipient
in bulk, and report how the delivery goes.

Who receives a broadcast is the caller's business (a segment of the market:
`gateway.orders.segments`); this module takes the numbers, already without
the opted-out ones, and writes the messages with two bulk statements (the
messages, then the recipients), so 5,000 recipients cost no more round
trips than 5. The messages then go the way of every SMS: the caller
enqueues them after the commit (`queue.enqueue_many`), the drain sends them
at SMS_RATE_PER_SECOND, the send job drops any number opted out since, and
delivery reports update each message; `stats` reads the rate from them.
Functions take a session and never commit.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.sms import texts as smstexts
from gateway.sms.broadcast_models import Broadcast, BroadcastRecipient
from gateway.sms.models import Message, MessageStatus

KIND = "broadcast"
CHUNK = 1000  # rows per bulk statement
CONFIRM_ABOVE = 1000  # recipients above which the operator confirms once more
DELIVERED = "Success"
FAILED_DELIVERY = ("Failed", "Rejected", "AbsentSubscriber", "Expired")


def lint(text: str) -> list[smstexts.Problem]:
    """The SMS texts' linter on a broadcast text (the same text in every
    language): GSM-7 only, no placeholders, at most 3 segments."""
    if "{" in text or "}" in text:
        return [smstexts.Problem("error", KIND, "", "braces are not allowed in a broadcast text")]
    return smstexts.lint({"templates": {KIND: {lang: text for lang in smstexts.LANGUAGES}}})


@dataclass(frozen=True)
class Stats:
    """How a broadcast's messages fare: written, sent to the provider,
    delivered and failed by the reports, and the delivery rate (delivered
    over recipients, 0.0 without recipients)."""

    recipients: int
    sent: int
    delivered: int
    failed: int

    @property
    def rate(self) -> float:
        return self.delivered / self.recipients if self.recipients else 0.0


def create(s: Session, *, text: str, segment: str, recipients: list[tuple[str, str]], skipped: int,
           by: str) -> tuple[Broadcast, list[int]]:
    """Record a broadcast of `text` to `recipients` ((E.164 phone, language)
    pairs, no opted-out number among them) and write their queued messages;
    returns the broadcast and the message ids to enqueue after commit.
    ValueError when the text has lint errors."""
    problems = smstexts.errors(lint(text))
    if problems:
        raise ValueError("; ".join(p.message for p in problems))
    parts = smstexts.segments(text)
    broadcast = Broadcast(text=text, segments=parts, segment=segment[:200], recipients=len(recipients),
                          skipped=skipped, created_by=by[:80])
    s.add(broadcast)
    s.flush()
    now, ids = utcnow(), []
    for start in range(0, len(recipients), CHUNK):
        rows = [{"recipient": phone, "text": text, "language": lang, "kind": KIND,
                 "status": MessageStatus.QUEUED, "attempts": 0, "segments": parts, "created_at": now}
                for phone, lang in recipients[start:start + CHUNK]]
        chunk = list(s.scalars(insert(Message).returning(Message.id), rows))
        s.execute(insert(BroadcastRecipient), [{"broadcast_id": broadcast.id, "message_id": i} for i in chunk])
        ids += chunk
    return broadcast, ids


def stats(s: Session, broadcast_id: int) -> Stats:
    """The broadcast's delivery so far, in one aggregate statement."""
    sent = func.sum(case((Message.status == MessageStatus.SENT, 1), else_=0))
    delivered = func.sum(case((Message.delivery_status == DELIVERED, 1), else_=0))
    failed = func.sum(case((Message.delivery_status.in_(FAILED_DELIVERY), 1),
                           (Message.status.in_((MessageStatus.FAILED, MessageStatus.DROPPED)), 1), else_=0))
    row = s.execute(select(func.count(), sent, delivered, failed)
                    .select_from(BroadcastRecipient)
                    .join(Message, Message.id == BroadcastRecipient.message_id)
                    .where(BroadcastRecipient.broadcast_id == broadcast_id)).one()
    return Stats(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))


def recent(s: Session, limit: int = 20) -> list[Broadcast]:
    """The latest broadcasts, newest first."""
    return list(s.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))
