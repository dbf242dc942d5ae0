"""The payments table: one row per (order, kind), and every call and answer.

`Payment` is an order's collection (the buyer pays Isoko) or its transfer
(Isoko pays the seller). The unique (order_id, kind) makes "exactly one
collection and one transfer per order" a database fact, whatever retries,
crashes or duplicate callbacks happen. `reference` is the current
X-Reference-Id: it is committed before any call that uses it, so a retry
reuses it (MTN refuses a second request with the same id); only a collection
that finally FAILED gets a new one, when the buyer tries again.

`PaymentEvent` is the history: every request, status check and callback,
with the reference it was about, MTN's answer and what it changed.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.core.models import Base, UTCDateTime, str_enum, utcnow


class PaymentKind(enum.StrEnum):
    COLLECTION = "collection"  # request to pay, from the buyer
    TRANSFER = "transfer"  # disbursement, to the seller


class PaymentStatus(enum.StrEnum):
    NEW = "new"  # reference stored; MTN has not confirmed taking the request
    REQUESTED = "requested"  # MTN took it; the result is awaited (callback, polling)
    SUCCESSFUL = "successful"
    FAILED = "failed"  # a collection that failed (reason); the buyer may try again
    HELD = "held"  # a transfer that failed or is unknown: an operator decides (reason)


OPEN = (PaymentStatus.NEW, PaymentStatus.REQUESTED)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("order_id", "kind"),
        # The tick reads open payments by due time.
        Index("ix_payments_status_next_check_at", "status", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[PaymentKind] = mapped_column(str_enum(PaymentKind))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus))
    reference: Mapped[str] = mapped_column(String(36), unique=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # references issued so far
    phone: Mapped[str] = mapped_column(String(16))  # the payer (collection) or payee (transfer)
    amount: Mapped[int] = mapped_column(BigInteger)  # RWF asked or sent
    commission: Mapped[int] = mapped_column(BigInteger, default=0)  # transfer: kept by Isoko
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(64))  # why failed or held
    financial_id: Mapped[str | None] = mapped_column(String(64))  # MTN's financialTransactionId
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # this reference's start
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: nothing to do
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list["PaymentEvent"]] = relationship(back_populates="payment",
                                                        order_by="PaymentEvent.id")


class PaymentEvent(Base):
    """One call (or callback) about a payment and its answer."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    reference: Mapped[str] = mapped_column(String(36), index=True)
    # "request" (request to pay or transfer), "status", "callback", "start", "retry",
    # "resume" (an earlier reference became current again), "operator"
    action: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))  # momo.Outcome, or None while sending
    status_code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)  # the answer as received (truncated)
    status_after: Mapped[str] = mapped_column(String(16))  # the payment's status after it
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="events")
