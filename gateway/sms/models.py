"""SMS rows: messages we send, and what the provider tells us about them
(delivery reports, incoming SMS, opt-outs).
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.models import Base, Language, UTCDateTime, str_enum, utcnow


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker; the provider may have it
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"
    # The provider may have it (no answer in time, or its worker died): not
    # resent; a delivery report for its number settles it (see sms.reports).
    UNKNOWN = "unknown"
    # Still unknown after SMS_UNKNOWN_WAIT_SECONDS: an operator decides
    # (`gateway sms requeue ID`); the console's message views list them.
    REVIEW = "review"


class Message(Base):
    """An outbound SMS; the row is the source of truth, the RQ job only a trigger."""

    __tablename__ = "messages"
    __table_args__ = (
        # The sweeper and the console look messages up by status and age.
        Index("ix_messages_status_created_at", "status", "created_at"),
        # Delivery reports find their message by the provider's id.
        Index("ix_messages_provider_message_id", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[Language] = mapped_column(str_enum(Language, 2))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus), default=MessageStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    cost: Mapped[str | None] = mapped_column(String(32))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Delivery, from the provider's reports: Sent → Submitted → Buffered →
    # Success | Failed | Rejected | AbsentSubscriber | Expired; only moves forward.
    delivery_status: Mapped[str | None] = mapped_column(String(24))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str | None] = mapped_column(String(64))
    sender_id: Mapped[str | None] = mapped_column(String(16))
    # queued: not before; sending: the lease's end; unknown: when it goes to review.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryReport(Base):
    """A delivery report as received; kept even when it arrives before the
    send was recorded, and applied to the message once it exists."""

    __tablename__ = "delivery_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_message_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(24))
    failure_reason: Mapped[str | None] = mapped_column(String(64))
    network_code: Mapped[str | None] = mapped_column(String(8))
    retry_count: Mapped[int | None] = mapped_column(Integer)
    # The recipient, E.164: how a report finds an `unknown` message whose
    # provider id we never heard (the send's answer was lost).
    phone: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied: Mapped[bool] = mapped_column(default=False)
    # The provider's form as received (JSON pairs): an optional field that
    # could not be read is None above and kept here.
    raw: Mapped[str | None] = mapped_column(Text)


class InboundSms(Base):
    """An incoming SMS; the provider retries until answered, so `provider_id` is unique."""

    __tablename__ = "inbound_sms"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    sender: Mapped[str] = mapped_column(String(16), index=True)
    short_code: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    link_id: Mapped[str | None] = mapped_column(String(64))
    network_code: Mapped[str | None] = mapped_column(String(8))
    sent_at: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str | None] = mapped_column(String(16))
    raw: Mapped[str | None] = mapped_column(Text)  # the provider's form, as DeliveryReport.raw


class OptOut(Base):
    """A number that asked for no more SMS (STOP and its equivalents)."""

    __tablename__ = "opt_outs"

    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
